#include "visor/sources/vega_history.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace visor {
namespace {

namespace fs = std::filesystem;

ChildSpec child(const std::string& name, std::vector<std::string> command) {
  ChildSpec spec;
  spec.name = name;
  spec.command = std::move(command);
  return spec;
}

Options vega_set() {
  Options options;
  options.profile = "vega";
  options.children = {child("core", {"vega", "start", "--home", "/srv/vega"}),
                      child("datanode", {"vega", "datanode", "start", "--home=/srv/datanode"})};
  return options;
}

TEST(VegaHistory, OnlyTheCoreRestartsFromTheSegmentAndOnlyOnPlainRestarts) {
  const Options options = vega_set();
  EXPECT_EQ(vega_datanode_index(options), std::optional<std::size_t>(1));
  EXPECT_TRUE(needs_history_segment(options, 0, SpawnReason::restart));
  EXPECT_TRUE(needs_history_segment(options, 0, SpawnReason::rollback));
  EXPECT_FALSE(needs_history_segment(options, 0, SpawnReason::first_start));
  EXPECT_FALSE(needs_history_segment(options, 0, SpawnReason::upgrade));
  EXPECT_FALSE(needs_history_segment(options, 1, SpawnReason::restart));  // the data node

  Options no_datanode = options;
  no_datanode.children.pop_back();
  EXPECT_FALSE(needs_history_segment(no_datanode, 0, SpawnReason::restart));
  Options lava = options;
  lava.profile = "lava-provider";
  EXPECT_FALSE(needs_history_segment(lava, 0, SpawnReason::restart));
}

TEST(VegaHistory, TheQueryUsesTheDataNodesHome) {
  const Options options = vega_set();
  EXPECT_EQ(home_argument(options.children[0]), "/srv/vega");
  EXPECT_EQ(history_segment_command("/h/current/vega", options.children[1]),
            (std::vector<std::string>{"/h/current/vega", "datanode", "network-history",
                                      "latest-history-segment", "--output", "json", "--home",
                                      "/srv/datanode"}));
  EXPECT_EQ(history_segment_command("vega", child("datanode", {"vega", "datanode", "start"})),
            (std::vector<std::string>{"vega", "datanode", "network-history",
                                      "latest-history-segment", "--output", "json"}));
}

TEST(VegaHistory, ParsesToHeightAsNumberOrString) {
  auto number = parse_latest_history_segment(
      R"({"latest_segment":{"from_height":1001,"to_height":2000,"history_segment_id":"Qm"}})");
  ASSERT_TRUE(number.ok()) << number.error();
  EXPECT_EQ(number.value(), 2000U);
  auto text = parse_latest_history_segment(R"({"latest_segment":{"to_height":"123456789"}})");
  ASSERT_TRUE(text.ok()) << text.error();
  EXPECT_EQ(text.value(), 123456789U);
}

TEST(VegaHistory, NoSegmentOrGarbageSaysWhy) {
  auto none = parse_latest_history_segment(R"({"latest_segment":null})");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().find("no history segment"), std::string::npos);
  EXPECT_NE(parse_latest_history_segment("{}").error().find("no history segment"),
            std::string::npos);
  EXPECT_NE(parse_latest_history_segment("Error: no segments\n").error().find("not JSON"),
            std::string::npos);
  EXPECT_NE(parse_latest_history_segment(R"({"latest_segment":{"to_height":-5}})")
                .error()
                .find("not a block height"),
            std::string::npos);
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto nested = parse_latest_history_segment(deep);
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.error().find("nested deeper than 8 levels"), std::string::npos)
      << nested.error();
}

TEST(VegaHistory, CoreRestartArguments) {
  const CoreRestart from_segment = core_restart_from(Result<std::uint64_t>(std::uint64_t{4200}));
  EXPECT_EQ(from_segment.extra_args,
            (std::vector<std::string>{"--snapshot.load-from-block-height", "4200"}));
  EXPECT_NE(from_segment.note.find("4200"), std::string::npos);
  const CoreRestart without =
      core_restart_from(Result<std::uint64_t>::failure("latest history segment: none"));
  EXPECT_TRUE(without.extra_args.empty());
  EXPECT_NE(without.note.find("without --snapshot.load-from-block-height"), std::string::npos);
}

// A stand-in for `vega`: a real script that records its arguments and prints what it is told.
class VegaHistoryRun : public ::testing::Test {
 protected:
  VegaHistoryRun() {
    char pattern[] = "/tmp/visor-history-XXXXXX";
    root_ = mkdtemp(pattern);
  }
  ~VegaHistoryRun() override { fs::remove_all(root_); }

  std::string script(const std::string& body) {
    const std::string path = root_ + "/vega";
    std::ofstream(path) << "#!/bin/sh\necho \"$@\" > " << root_ << "/args\n" << body << "\n";
    fs::permissions(path, fs::perms::owner_all);
    return path;
  }
  std::string args() const {
    std::ifstream input(root_ + "/args");
    std::stringstream text;
    text << input.rdbuf();
    return text.str();
  }

  std::string root_;
};

TEST_F(VegaHistoryRun, RunsTheCommandAndReadsTheHeight) {
  const std::string vega =
      script(R"(echo '{"latest_segment":{"from_height":"1","to_height":"3001"}}')");
  const auto argv = history_segment_command(vega, vega_set().children[1]);
  auto height = latest_history_segment(argv);
  ASSERT_TRUE(height.ok()) << height.error();
  EXPECT_EQ(height.value(), 3001U);
  EXPECT_EQ(args(),
            "datanode network-history latest-history-segment --output json --home /srv/datanode\n");
}

TEST_F(VegaHistoryRun, AFailingCommandIsAnErrorWithWhatItPrinted) {
  const std::string vega = script("echo 'no history segments found' >&2; exit 3");
  auto height = latest_history_segment({vega, "datanode"});
  ASSERT_FALSE(height.ok());
  EXPECT_NE(height.error().find("exit code 3"), std::string::npos) << height.error();
  EXPECT_NE(height.error().find("no history segments found"), std::string::npos);
}

TEST_F(VegaHistoryRun, AHangingCommandIsKilledAtTheTimeout) {
  const std::string vega = script("exec sleep 30");
  const auto started = SteadyClock::now();
  auto height = latest_history_segment({vega}, Duration(300));
  ASSERT_FALSE(height.ok());
  EXPECT_NE(height.error().find("timed out"), std::string::npos) << height.error();
  EXPECT_LT(SteadyClock::now() - started, std::chrono::seconds(10));
}

TEST_F(VegaHistoryRun, EndlessOutputIsCappedAndRefused) {
  const std::string vega = script("head -c 1000000 /dev/zero | tr '\\0' 'x'");
  auto height = latest_history_segment({vega});
  ASSERT_FALSE(height.ok());
  EXPECT_NE(height.error().find("printed more than"), std::string::npos) << height.error();
}

TEST_F(VegaHistoryRun, AMissingBinaryIsAnError) {
  auto height = latest_history_segment({root_ + "/absent"});
  ASSERT_FALSE(height.ok());
  EXPECT_NE(height.error().find("absent"), std::string::npos);
}

}  // namespace
}  // namespace visor
