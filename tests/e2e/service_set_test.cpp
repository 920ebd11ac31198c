// End-to-end: service sets as the real build/visor reads them (--child, "children", --group).
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>

#include "e2e_util.h"

namespace visor::e2e {
namespace {

class ServiceSetConfig : public ::testing::Test {
 protected:
  std::vector<std::string> wrap(std::vector<std::string> extra) {
    std::vector<std::string> argv{visor_binary(), "wrap", "--home", dir_ / "home"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  std::string child() const { return test_child_binary(); }
  std::string log() const { return dir_ / "visor.log"; }

  TempDir dir_;
};

TEST_F(ServiceSetConfig, ASetOfOneGivenAsChildRunsLikeCmd) {
  const std::string argv_file = dir_ / "argv";
  Process visor(wrap({"--child", "node=" + child() + " --argv-file " + argv_file + " --exit 7",
                      "--restart", "never"}),
                log());
  EXPECT_EQ(visor.wait(10s), 7) << visor.output();
  EXPECT_EQ(read_lines(argv_file),
            (std::vector<std::string>{"--argv-file", argv_file, "--exit", "7"}));
}

TEST_F(ServiceSetConfig, EveryErrorOfTheSetIsReportedAtOnceAndNothingStarts) {
  const std::string argv_file = dir_ / "argv";
  const std::string good = child() + " --argv-file " + argv_file;
  Process visor(
      wrap({"--child", "Core=" + good, "--child", "node=" + good, "--child", "node=" + good,
            "--child", "noequals", "--group", "sometimes", "--cmd", good}),
      log());
  EXPECT_EQ(visor.wait(10s), 2);
  const std::string output = visor.output();
  for (const char* part :
       {"invalid child name 'Core'", "child name 'node' is used twice", "expected NAME=COMMAND",
        "expected independent|together, got 'sometimes'",
        "--cmd cannot be combined with --child"}) {
    EXPECT_NE(output.find(part), std::string::npos) << part << "\n" << output;
  }
  EXPECT_FALSE(std::filesystem::exists(argv_file));
}

TEST_F(ServiceSetConfig, ChildrenFromTheConfigFileAreChecked) {
  write_file(dir_ / "config.json",
             R"({"children": [{"name": "a", "cmd": "x", "colour": "red"}, {"cmd": "y"}]})");
  Process visor(wrap({"--config", dir_ / "config.json"}), log());
  EXPECT_EQ(visor.wait(10s), 2);
  const std::string output = visor.output();
  EXPECT_NE(output.find("children[0]: unknown key 'colour'"), std::string::npos) << output;
  EXPECT_NE(output.find("children[1]: \"name\" is missing"), std::string::npos) << output;
}

TEST_F(ServiceSetConfig, ASetOfSeveralRunsEveryChildAndExitsWithTheFirstsStatus) {
  const std::string first = dir_ / "first";
  const std::string second = dir_ / "second";
  Process visor(wrap({"--child", "a=" + child() + " --argv-file " + first + " --exit 5 --after 300",
                      "--child", "b=" + child() + " --argv-file " + second + " --exit 0",
                      "--restart", "never"}),
                log());
  EXPECT_EQ(visor.wait(15s), 5) << visor.output();
  EXPECT_TRUE(std::filesystem::exists(first)) << visor.output();
  EXPECT_TRUE(std::filesystem::exists(second)) << visor.output();
}

// A set running two binaries of one release (alpha and beta): add-upgrade stages them one at
// a time with --binary, the version counts only once both are in, and then the running visor
// (--source none) switches both children at once; a folder holding both does it in one step.
TEST_F(ServiceSetConfig, AReleaseOfTwoBinariesIsStagedByHandAndSwitchedAsOne) {
  std::filesystem::create_directories(dir_ / "bin");
  for (const char* version : {"2.0.0", "3.0.0"}) {
    std::filesystem::create_directories(dir_ / version);
  }
  for (const std::string name : {"alpha", "beta"}) {
    for (const std::string version : {"1.0.0", "2.0.0", "3.0.0"}) {
      const std::string folder = version == "1.0.0" ? dir_ / "bin" : dir_ / version;
      write_stand_in(folder + "/" + name, version,
                     "echo " + version + " >> '" + (dir_ / (name + ".runs")) + "'");
    }
  }
  const std::string home = dir_ / "home";
  Process visor(wrap({"--source", "none", "--healthy-after", "500ms", "--child",
                      "a=" + (dir_ / "bin/alpha"), "--child", "b=" + (dir_ / "bin/beta")}),
                log());
  const auto runs = [&](const std::string& name) { return read_lines(dir_ / (name + ".runs")); };
  ASSERT_TRUE(
      wait_until([&] { return runs("alpha").size() == 1 && runs("beta").size() == 1; }, 10s))
      << visor.output();

  const auto add = [&](const std::string& arguments) {
    return run_command("'" + visor_binary() + "' add-upgrade --home '" + home + "' " + arguments);
  };
  const auto first = add("2.0.0 '" + (dir_ / "2.0.0/alpha") + "' --binary alpha");
  ASSERT_EQ(first.status, 0) << first.output;
  EXPECT_NE(first.output.find("beta"), std::string::npos) << first.output;  // what is missing
  EXPECT_FALSE(std::filesystem::exists(home + "/upgrades/2.0.0"));
  const auto wrong = add("2.0.0 '" + (dir_ / "2.0.0/beta") + "'");  // which binary is it?
  EXPECT_EQ(wrong.status, 2) << wrong.output;
  const auto second = add("2.0.0 '" + (dir_ / "2.0.0/beta") + "' --binary beta");
  ASSERT_EQ(second.status, 0) << second.output;
  ASSERT_TRUE(wait_until(
      [&] {
        return runs("alpha") == std::vector<std::string>{"1.0.0", "2.0.0"} &&
               runs("beta") == std::vector<std::string>{"1.0.0", "2.0.0"};
      },
      15s))
      << visor.output();
  EXPECT_EQ(std::filesystem::read_symlink(home + "/current").string(), "upgrades/2.0.0");

  const auto folder = add("3.0.0 '" + (dir_ / "3.0.0") + "'");
  ASSERT_EQ(folder.status, 0) << folder.output;
  ASSERT_TRUE(
      wait_until([&] { return runs("alpha").size() == 3 && runs("beta").size() == 3; }, 15s))
      << visor.output();
  EXPECT_EQ(runs("alpha").back(), "3.0.0");
  EXPECT_EQ(runs("beta").back(), "3.0.0");

  const auto status = run_command("'" + visor_binary() + "' status --json --home '" + home + "'");
  EXPECT_NE(status.output.find("\"name\": \"a\""), std::string::npos) << status.output;
  EXPECT_NE(status.output.find("\"name\": \"b\""), std::string::npos) << status.output;
  visor.signal(SIGTERM);
  EXPECT_TRUE(visor.wait(20s).has_value());
}

}  // namespace
}  // namespace visor::e2e
