#include "visor/store/binary_store.h"

#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "visor/store/version_probe.h"

namespace visor {
namespace {

namespace fs = std::filesystem;

class BinaryStoreTest : public ::testing::Test {
 protected:
  BinaryStoreTest() {
    char pattern[] = "/tmp/visor-store-XXXXXX";
    root_ = mkdtemp(pattern);
  }
  ~BinaryStoreTest() override { fs::remove_all(root_); }

  std::string make_binary(const std::string& version) {
    const std::string path = root_ + "/lavap-" + version;
    std::ofstream(path) << "#!/bin/sh\necho " << version << "\n";
    fs::permissions(path, fs::perms::owner_all);
    return path;
  }

  std::string root_;
};

TEST_F(BinaryStoreTest, InstallSwitchAndRollBack) {
  BinaryStore store(root_ + "/home", "lavap");
  ASSERT_TRUE(store.open().ok());
  EXPECT_FALSE(store.current_version().has_value());
  ASSERT_TRUE(store.install_copy("5.2.1", make_binary("5.2.1")).ok());
  ASSERT_TRUE(store.install_copy("5.3.0", make_binary("5.3.0")).ok());
  EXPECT_EQ(store.versions(), (std::vector<std::string>{"5.2.1", "5.3.0"}));
  ASSERT_TRUE(store.switch_to("5.2.1").ok());
  EXPECT_EQ(fs::read_symlink(root_ + "/home/current"), "upgrades/5.2.1");
  ASSERT_TRUE(store.switch_to("5.3.0").ok());
  EXPECT_EQ(store.current_version(), "5.3.0");
  EXPECT_EQ(store.state().previous, "5.2.1");
  EXPECT_EQ(store.state().staged, std::vector<std::string>{"5.2.1"});
  auto probed = probe_version(store.current_binary(), {"version"});
  ASSERT_TRUE(probed.ok()) << probed.error();
  EXPECT_EQ(probed->str(), "5.3.0");

  ASSERT_TRUE(store.roll_back("5.3.0", "5.2.1", "exited with exit code 1").ok());
  EXPECT_EQ(store.current_version(), "5.2.1");
  EXPECT_EQ(store.state().failed.at("5.3.0"), "exited with exit code 1");

  // What was saved is what a fresh store reads.
  BinaryStore again(root_ + "/home", "lavap");
  ASSERT_TRUE(again.open().ok());
  EXPECT_EQ(again.state().current, "5.2.1");
  EXPECT_EQ(again.state().failed.count("5.3.0"), 1u);
}

TEST_F(BinaryStoreTest, NeverOverwritesAVersion) {
  BinaryStore store(root_ + "/home", "lavap");
  ASSERT_TRUE(store.open().ok());
  ASSERT_TRUE(store.install_copy("5.2.1", make_binary("5.2.1")).ok());
  const auto before = fs::last_write_time(store.binary_path("5.2.1"));
  auto again = store.install_copy("5.2.1", make_binary("5.2.1"));
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().find("never overwrites"), std::string::npos);
  EXPECT_EQ(fs::last_write_time(store.binary_path("5.2.1")), before);
}

TEST_F(BinaryStoreTest, SwitchingToAMissingVersionFailsAndKeepsCurrent) {
  BinaryStore store(root_ + "/home", "lavap");
  ASSERT_TRUE(store.open().ok());
  ASSERT_TRUE(store.install_copy("5.2.1", make_binary("5.2.1")).ok());
  ASSERT_TRUE(store.switch_to("5.2.1").ok());
  EXPECT_FALSE(store.switch_to("9.9.9").ok());
  EXPECT_EQ(store.current_version(), "5.2.1");
}

TEST_F(BinaryStoreTest, CleanTmpKeepsPartialDownloadsOnly) {
  BinaryStore store(root_ + "/home", "lavap");
  ASSERT_TRUE(store.open().ok());
  std::ofstream(store.tmp_dir() + "/5.3.0-lavap.part") << "partial";
  fs::create_directories(store.tmp_dir() + "/stage-5.3.0-42");
  std::ofstream(store.tmp_dir() + "/stage-5.3.0-42/lavap") << "half";
  fs::create_symlink("upgrades/5.3.0", root_ + "/home/current.tmp-42");
  const auto removed = store.clean_tmp();
  EXPECT_EQ(removed.size(), 2u);
  EXPECT_TRUE(fs::exists(store.tmp_dir() + "/5.3.0-lavap.part"));
  EXPECT_FALSE(fs::exists(store.tmp_dir() + "/stage-5.3.0-42"));
  EXPECT_FALSE(fs::is_symlink(root_ + "/home/current.tmp-42"));
}

TEST_F(BinaryStoreTest, ACurrentLinkToAnIncompleteFolderIsNoVersion) {
  BinaryStore store(root_ + "/home", "lavap");
  ASSERT_TRUE(store.open().ok());
  fs::create_directories(root_ + "/home/upgrades/5.3.0");  // no binary inside
  fs::create_symlink("upgrades/5.3.0", root_ + "/home/current");
  EXPECT_FALSE(store.current_version().has_value());
}

TEST(VersionProbe, ReadsTheFirstVersionOfTheOutput) {
  auto version = probe_version(VISOR_TEST_CHILD, {"version", "--version", "v0.79.0"});
  ASSERT_TRUE(version.ok()) << version.error();
  EXPECT_EQ(version->str(), "0.79.0");
}

TEST(VersionProbe, ABinaryWithoutAVersionIsAClearError) {
  auto version = probe_version("/bin/echo", {"no", "version", "here"});
  ASSERT_FALSE(version.ok());
  EXPECT_NE(version.error().find("printed no version"), std::string::npos) << version.error();
}

TEST(VersionProbe, AHangingBinaryIsKilledAfterTheTimeout) {
  const auto start = std::chrono::steady_clock::now();
  auto version = probe_version("/bin/sleep", {"30"}, Duration(300));
  ASSERT_FALSE(version.ok());
  EXPECT_NE(version.error().find("timed out"), std::string::npos) << version.error();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(VersionProbe, AMissingBinaryIsAClearError) {
  auto version = probe_version("/nonexistent/lavap", {"version"});
  ASSERT_FALSE(version.ok());
  EXPECT_NE(version.error().find("/nonexistent/lavap"), std::string::npos);
}

TEST_F(BinaryStoreTest, ReplaceCopySwapsAStagedVersionButNeverTheCurrent) {
  BinaryStore store(root_ + "/home", "lavap");
  ASSERT_TRUE(store.open().ok());
  ASSERT_TRUE(store.install_copy("5.2.1", make_binary("5.2.1")).ok());
  ASSERT_TRUE(store.switch_to("5.2.1").ok());
  EXPECT_EQ(store.current_binary_name(), "lavap");
  ASSERT_TRUE(store.install_copy("5.3.0", make_binary("5.3.0")).ok());

  const std::string rebuilt = root_ + "/rebuilt";
  std::ofstream(rebuilt) << "#!/bin/sh\necho 5.3.0 rebuilt\n";
  fs::permissions(rebuilt, fs::perms::owner_all);
  ASSERT_TRUE(store.replace_copy("5.3.0", rebuilt).ok());
  std::ifstream replaced(store.binary_path("5.3.0"));
  std::string text((std::istreambuf_iterator<char>(replaced)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("rebuilt"), std::string::npos);
  EXPECT_TRUE(fs::is_empty(store.tmp_dir()));  // the old copy is gone

  const Status refused = store.replace_copy("5.2.1", rebuilt);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("is current"), std::string::npos) << refused.error();
  auto probed = probe_version(store.current_binary(), {"version"});
  ASSERT_TRUE(probed.ok());
  EXPECT_EQ(probed->str(), "5.2.1");
}

// Opens of state.json in `home`, counted by inotify on the folder (every write is a new file
// renamed in, so the folder is watched, not the file).
class StateOpens {
 public:
  explicit StateOpens(const std::string& home) : fd_(inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
    if (fd_ >= 0) watch_ = inotify_add_watch(fd_, home.c_str(), IN_OPEN);
  }
  ~StateOpens() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0 && watch_ >= 0; }
  // The opens of state.json since the last call.
  int take() {
    int opens = 0;
    alignas(inotify_event) char buffer[4096];
    ssize_t length;
    while ((length = read(fd_, buffer, sizeof buffer)) > 0) {
      for (ssize_t at = 0; at < length;) {
        const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
        if (event->len > 0 && std::string(event->name) == "state.json") ++opens;
        at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      }
    }
    return opens;
  }

 private:
  int fd_;
  int watch_ = -1;
};

// The source polls every second and asks for due height switches each time: state.json, which
// `visor add-upgrade` writes while visor runs, is read once per change, not once per poll.
TEST_F(BinaryStoreTest, StateJsonIsReadAgainOnlyWhenItChanged) {
  BinaryStore store(root_ + "/home", "lavap");
  ASSERT_TRUE(store.open().ok());
  StoreState written;  // as add-upgrade --height writes it
  written.height_switches = {{105, "5.3.0"}};
  ASSERT_TRUE(save_state(store.state_path(), written).ok());
  StateOpens opens(root_ + "/home");
  ASSERT_TRUE(opens.ok());
  EXPECT_FALSE(store.take_due_height_switch(100).has_value());
  EXPECT_EQ(opens.take(), 1);
  for (int poll = 0; poll < 5; ++poll) EXPECT_FALSE(store.take_due_height_switch(100));
  EXPECT_EQ(store.scheduled_heights(), std::vector<std::uint64_t>{105});
  store.refresh_plans();
  EXPECT_EQ(opens.take(), 0);
  // Another write: read once more, and what it added is seen.
  written.height_switches[110] = "5.4.0";
  written.plans["gov-upgrade-2"] = "5.3.0";
  ASSERT_TRUE(save_state(store.state_path(), written).ok());
  opens.take();  // the write's own open
  EXPECT_EQ(store.scheduled_heights(), (std::vector<std::uint64_t>{105, 110}));
  EXPECT_EQ(store.plan_version("gov-upgrade-2"), "5.3.0");
  EXPECT_FALSE(store.take_due_height_switch(100));
  EXPECT_EQ(opens.take(), 1);
  // A switch taken is saved: it is not merged back from a copy read before.
  ASSERT_TRUE(store.take_due_height_switch(105).has_value());
  EXPECT_EQ(store.scheduled_heights(), std::vector<std::uint64_t>{110});
}

}  // namespace
}  // namespace visor
