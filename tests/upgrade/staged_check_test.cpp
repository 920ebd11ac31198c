#include "visor/upgrade/staged_check.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>

namespace visor {
namespace {

namespace fs = std::filesystem;

class StagedCheck : public ::testing::Test {
 protected:
  StagedCheck() {
    char pattern[] = "/tmp/visor-staged-check-XXXXXX";
    root_ = mkdtemp(pattern);
  }
  ~StagedCheck() override { fs::remove_all(root_); }

  void install(BinaryStore& store, const std::string& version) {
    const std::string path = root_ + "/lavap-" + version;
    std::ofstream(path) << "#!/bin/sh\necho " << version << "\n";
    fs::permissions(path, fs::perms::owner_all);
    ASSERT_TRUE(store.install_copy(version, path).ok());
  }
  // Runs the check on a real worker thread and returns what `done` got.
  std::optional<Status> check(BinaryStore& store, const std::string& version) {
    boost::asio::io_context io;
    auto keep_running = boost::asio::make_work_guard(io);  // until the result arrives
    Worker worker(io);
    std::optional<Status> outcome;
    check_staged_in_background(worker, store, version, [&](const Status& checked) {
      outcome = checked;
      io.stop();
    });
    io.run_for(std::chrono::seconds(10));
    return outcome;
  }

  std::string root_;
};

TEST_F(StagedCheck, AnUnchangedBinaryPasses) {
  BinaryStore store(root_ + "/home", "lavap");
  ASSERT_TRUE(store.open().ok());
  install(store, "5.3.0");
  const auto outcome = check(store, "5.3.0");
  ASSERT_TRUE(outcome.has_value());
  EXPECT_TRUE(outcome->ok()) << outcome->error();
  EXPECT_TRUE(store.has_version("5.3.0"));
}

TEST_F(StagedCheck, AChangedBinaryIsSetAsideNotMarkedFailed) {
  BinaryStore store(root_ + "/home", "lavap");
  ASSERT_TRUE(store.open().ok());
  install(store, "5.3.0");
  std::ofstream(store.binary_path("5.3.0"), std::ios::app) << "# changed after staging\n";
  const auto outcome = check(store, "5.3.0");
  ASSERT_TRUE(outcome.has_value());
  ASSERT_FALSE(outcome->ok());
  EXPECT_EQ(outcome->error().rfind("not switching to 5.3.0: ", 0), 0u) << outcome->error();
  EXPECT_NE(outcome->error().find("; it is set aside and fetched again"), std::string::npos);
  EXPECT_FALSE(store.has_version("5.3.0"));  // set aside: staged again when wanted
  EXPECT_FALSE(store.failed_reason("5.3.0").has_value());
  EXPECT_TRUE(store.recorded_hash("5.3.0").empty());
}

// `visor add-upgrade --force` swaps the binary and its recorded hash after the worker hashed the
// old one and before the result is checked: the new binary is hashed again, not set aside.
TEST_F(StagedCheck, ABinaryReplacedWithItsHashWhileItIsHashedIsHashedAgain) {
  const std::string home = root_ + "/home";
  BinaryStore store(home, "lavap");
  ASSERT_TRUE(store.open().ok());
  install(store, "5.3.0");
  ASSERT_TRUE(store.save().ok());
  boost::asio::io_context io;
  auto keep_running = boost::asio::make_work_guard(io);
  Worker worker(io);
  std::optional<Status> outcome;
  check_staged_in_background(worker, store, "5.3.0", [&](const Status& checked) {
    outcome = checked;
    io.stop();
  });
  // The hashing is done once a job queued after it runs; its result waits for io.run().
  std::promise<void> hashed;
  worker.run(
      [&hashed] {
        hashed.set_value();
        return Status();
      },
      [](const Status&) {});
  hashed.get_future().wait();
  const std::string replacement = root_ + "/lavap-5.3.0-rebuilt";
  std::ofstream(replacement) << "#!/bin/sh\necho 5.3.0 rebuilt\n";
  fs::permissions(replacement, fs::perms::owner_all);
  BinaryStore add_upgrade(home, "lavap");
  ASSERT_TRUE(add_upgrade.open().ok());
  ASSERT_TRUE(add_upgrade.replace_copy("5.3.0", replacement).ok());
  io.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(outcome.has_value());
  EXPECT_TRUE(outcome->ok()) << outcome->error();
  EXPECT_TRUE(store.has_version("5.3.0"));
  EXPECT_EQ(store.recorded_hash("5.3.0"), add_upgrade.recorded_hash("5.3.0"));
}

}  // namespace
}  // namespace visor
