// End-to-end: the real build/visor refuses to run what its store does not vouch for: a
// `current` that leads outside <home>/upgrades, and a binary that no longer matches its SHA-256.
#include <signal.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "e2e_util.h"

namespace visor::e2e {
namespace {

namespace fs = std::filesystem;

class StoreIntegrity : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "bin");
    make_versioned_child(dir_ / "bin/node", "1.0.0");
    // A foreign binary of the same shape outside the home: it leaves a mark when it runs.
    fs::create_directories(dir_ / "elsewhere/upgrades/1.0.0");
    write_file(dir_ / "elsewhere/upgrades/1.0.0/node",
               "#!/bin/sh\necho ran >> '" + (dir_ / "foreign-ran") + "'\nexec '" +
                   test_child_binary() + "' \"$@\"\n",
               0755);
  }
  std::vector<std::string> wrap_args() const {
    return {visor_binary(), "wrap",  "--home",
            dir_ / "home",  "--cmd", (dir_ / "bin/node") + " --pid-file " + (dir_ / "pids")};
  }
  // Runs visor once so that the home holds 1.0.0 (hash recorded) as current, then stops it.
  void first_run() {
    Process visor(wrap_args(), dir_ / "first.log");
    ASSERT_TRUE(wait_until([&] { return read_lines(dir_ / "pids").size() == 1; }, 10s))
        << visor.output();
    visor.signal(SIGTERM);
    ASSERT_EQ(visor.wait(10s), 128 + SIGTERM);
  }
  void link_current(const std::string& target) {
    fs::remove_all(dir_ / "home/current");
    fs::create_directory_symlink(target, dir_ / "home/current");
  }

  TempDir dir_;
};

TEST_F(StoreIntegrity, ACurrentLeadingOutsideTheHomeIsRepairedAndTheForeignBinaryNeverRuns) {
  first_run();
  int runs = 1;
  for (const std::string& target :
       {dir_ / "elsewhere/upgrades/1.0.0", std::string("../elsewhere/upgrades/1.0.0"),
        std::string("upgrades/1.0.0/../../elsewhere/upgrades/1.0.0")}) {
    link_current(target);
    Process visor(wrap_args(), dir_ / "visor.log");
    ++runs;
    ASSERT_TRUE(wait_until(
        [&] { return read_lines(dir_ / "pids").size() == static_cast<std::size_t>(runs); }, 10s))
        << target << "\n"
        << visor.output();
    EXPECT_NE(visor.output().find("repaired: it now points at upgrades/1.0.0"), std::string::npos)
        << visor.output();
    EXPECT_EQ(fs::read_symlink(dir_ / "home/current"), "upgrades/1.0.0");
    EXPECT_FALSE(fs::exists(dir_ / "foreign-ran")) << target;
    visor.signal(SIGTERM);
    ASSERT_EQ(visor.wait(10s), 128 + SIGTERM);
  }
}

TEST_F(StoreIntegrity, ACurrentThatIsNotALinkAndCannotBeRepairedIsRefusedWithOneLine) {
  first_run();
  fs::remove(dir_ / "home/current");
  fs::create_directories(dir_ / "home/current");
  fs::copy_file(dir_ / "elsewhere/upgrades/1.0.0/node", dir_ / "home/current/node");
  Process visor(wrap_args(), dir_ / "visor.log");
  EXPECT_EQ(visor.wait(10s), 1) << visor.output();
  EXPECT_EQ(count_occurrences(visor.output(), "is not a symbolic link"), 1) << visor.output();
  EXPECT_FALSE(fs::exists(dir_ / "foreign-ran"));
  EXPECT_EQ(read_lines(dir_ / "pids").size(), 1u);  // nothing was started
}

TEST_F(StoreIntegrity, ATamperedCurrentWithNoVerifiedVersionToFallBackOnIsRefused) {
  first_run();
  // Same size class, different bytes: the foreign script in place of the imported binary.
  fs::copy_file(dir_ / "elsewhere/upgrades/1.0.0/node", dir_ / "home/upgrades/1.0.0/node",
                fs::copy_options::overwrite_existing);
  Process visor(wrap_args(), dir_ / "visor.log");
  EXPECT_EQ(visor.wait(10s), 1) << visor.output();
  EXPECT_EQ(count_occurrences(visor.output(), "no longer matches the SHA-256 recorded"), 1)
      << visor.output();
  EXPECT_NE(visor.output().find("refusing"), std::string::npos) << visor.output();
  EXPECT_FALSE(fs::exists(dir_ / "foreign-ran"));
  EXPECT_EQ(read_lines(dir_ / "pids").size(), 1u);
}

TEST_F(StoreIntegrity, AStateWithoutHashesIsTrustedOnFirstUseAndThenChecked) {
  first_run();
  // A state.json written before hashes were recorded.
  std::string state = read_file(dir_ / "home/state.json");
  const auto section = state.find("\"sha256\"");
  ASSERT_NE(section, std::string::npos) << state;
  state.replace(section, state.find('}', section) + 1 - section, "\"sha256\": {}");
  write_file(dir_ / "home/state.json", state);
  {
    Process visor(wrap_args(), dir_ / "second.log");
    ASSERT_TRUE(wait_until([&] { return read_lines(dir_ / "pids").size() == 2; }, 10s))
        << visor.output();
    EXPECT_NE(visor.output().find("trust on first use"), std::string::npos) << visor.output();
    visor.signal(SIGTERM);
    ASSERT_EQ(visor.wait(10s), 128 + SIGTERM);
  }
  EXPECT_NE(read_file(dir_ / "home/state.json").find(sha256sum(dir_ / "home/upgrades/1.0.0/node")),
            std::string::npos);
}

}  // namespace
}  // namespace visor::e2e
