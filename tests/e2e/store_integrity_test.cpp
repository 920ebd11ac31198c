// End-to-end: the real build/visor refuses to run what its store does not vouch for: a
// `current` that leads outside <home>/upgrades, and a binary that no longer matches its SHA-256.
#include <signal.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
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

// `visor add-upgrade VERSION FILE --force` while visor runs replaces a staged version and records
// its new SHA-256 in state.json. The running visor read the old hash before (while it upgraded
// to 1.5.0); at the switch it must take the new one from state.json, run the operator's new
// binary and set nothing aside.
TEST_F(StoreIntegrity, ABinaryReplacedWithForceWhileVisorRunsIsTheOneSwitchedTo) {
  const std::string home = dir_ / "home";
  const std::string argv_file = dir_ / "argv";
  write_stand_in(dir_ / "bin/node", "1.0.0");
  for (const char* folder : {"step", "first", "second"}) fs::create_directories(dir_ / folder);
  write_stand_in(dir_ / "step/node", "1.5.0");
  write_stand_in(dir_ / "first/node", "2.0.0", "echo first >> '" + (dir_ / "marks") + "'");
  write_stand_in(dir_ / "second/node", "2.0.0", "echo second >> '" + (dir_ / "marks") + "'");
  ASSERT_NE(sha256sum(dir_ / "first/node"), sha256sum(dir_ / "second/node"));
  Process visor({visor_binary(), "wrap", "--home", home, "--source", "none", "--healthy-after",
                 "1s", "--cmd", (dir_ / "bin/node") + " start --argv-file " + argv_file},
                dir_ / "visor.log");
  ASSERT_TRUE(wait_until([&] { return argv_file_says_running(argv_file, "1.0.0"); }, 15s))
      << visor.output();
  const auto add_upgrade = [&](const std::vector<std::string>& arguments) {
    std::vector<std::string> argv{visor_binary(), "add-upgrade"};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    argv.insert(argv.end(), {"--home", home});
    Process add(argv, dir_ / "add.log");
    const auto code = add.wait(15s);
    return code == 0 ? std::string() : add.output();
  };
  ASSERT_EQ(add_upgrade({"2.0.0", dir_ / "first/node", "--stage-only"}), "");
  const std::string first_hash = sha256sum(home + "/upgrades/2.0.0/node");
  // An upgrade to 1.5.0: visor reads state.json, the hash of the first 2.0.0 with it.
  ASSERT_EQ(add_upgrade({"1.5.0", dir_ / "step/node"}), "");
  ASSERT_TRUE(wait_until([&] { return argv_file_says_running(argv_file, "1.5.0"); }, 15s))
      << visor.output();
  ASSERT_TRUE(wait_until(
      [&] { return visor.output().find("to 1.5.0 succeeded") != std::string::npos; }, 15s))
      << visor.output();

  ASSERT_EQ(add_upgrade({"2.0.0", dir_ / "second/node", "--force", "--stage-only"}), "");
  const std::string second_hash = sha256sum(dir_ / "second/node");
  ASSERT_EQ(sha256sum(home + "/upgrades/2.0.0/node"), second_hash);
  ASSERT_NE(first_hash, second_hash);
  // The switch, asked for as add-upgrade asks a visor with --source none.
  const auto request_number = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  replace_file(home + "/upgrade-request.json",
               nlohmann::json(
                   {{"name", "v2.0.0"}, {"height", request_number}, {"info", "visor add-upgrade"}})
                   .dump());
  ASSERT_TRUE(wait_until([&] { return argv_file_says_running(argv_file, "2.0.0"); }, 15s))
      << visor.output();
  ASSERT_TRUE(wait_until(
      [&] { return visor.output().find("to 2.0.0 succeeded") != std::string::npos; }, 15s))
      << visor.output();
  EXPECT_EQ(read_lines(dir_ / "marks"), std::vector<std::string>{"second"}) << visor.output();
  EXPECT_EQ(visor.output().find("no longer matches"), std::string::npos) << visor.output();
  for (const auto& entry : fs::directory_iterator(home + "/tmp")) {
    EXPECT_EQ(entry.path().filename().string().rfind("quarantine-", 0), std::string::npos)
        << entry.path();
  }
  EXPECT_EQ(fs::read_symlink(home + "/current"), "upgrades/2.0.0");
  EXPECT_EQ(sha256sum(home + "/upgrades/2.0.0/node"), second_hash);
  const auto state = nlohmann::json::parse(read_file(home + "/state.json"));
  EXPECT_EQ(state["sha256"]["2.0.0"], second_hash) << state.dump(2);
  EXPECT_TRUE(state["failed"].empty()) << state.dump(2);
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

}  // namespace
}  // namespace visor::e2e
