// End-to-end: service sets as the real build/visor reads them (--child, "children", --group).
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace visor::e2e
