#include "visor/sources/vega_source.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>

#include "source_test_support.h"

namespace visor {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using test::Recorder;
using test::run_until;

json accepted(const std::string& tag, std::uint64_t height, bool ready) {
  return {{"AcceptedReleaseInfo", {{"VegaReleaseTag", tag}, {"UpgradeBlockHeight", height}}},
          {"ReadyToUpgrade", ready}};
}

// A real unix-socket HTTP server speaking Vega's admin JSON-RPC; it checks every request.
class VegaSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reply(json{{"AcceptedReleaseInfo", nullptr}, {"ReadyToUpgrade", false}});
    options_.source = SourceKind::vega;
    options_.vega_admin_socket = scratch_.file("vega.sock");
    options_.vega_admin_path = "/rpc";
    options_.poll_interval = milliseconds(100);
    options_.request_timeout = milliseconds(500);
  }

  void start_server() {
    server_ = std::make_unique<test::PythonServer>(
        "vega_server.py",
        std::vector<std::string>{"--socket", options_.vega_admin_socket, "--path", "/rpc",
                                 "--control", scratch_.file("control.json"), "--log",
                                 scratch_.file("requests.log")});
  }

  void start_server_and_wait() {
    start_server();
    ASSERT_TRUE(test::wait_for_file(options_.vega_admin_socket)) << "vega_server.py did not start";
  }

  void reply(const json& result, const json& error = nullptr, int id_offset = 0,
             const std::string& mode = "normal") {
    json control = {{"result", result}, {"error", error}, {"id_offset", id_offset}, {"mode", mode}};
    test::replace_file(scratch_.file("control.json"), control.dump());
  }

  std::vector<std::string> requests() const {
    return test::read_lines(scratch_.file("requests.log"));
  }

  std::string object() const { return "/rpc on unix:" + options_.vega_admin_socket; }

  test::ScratchDir scratch_;
  std::unique_ptr<test::PythonServer> server_;
  Options options_;
  boost::asio::io_context io_;
  Worker worker_{io_};
  Recorder recorder_;
};

TEST_F(VegaSourceTest, FollowsTheNodeFromNothingToPreStageToReady) {
  start_server_and_wait();
  VegaSource source(io_, worker_, options_);
  EXPECT_STREQ(source.name(), "vega");
  source.set_current_version("0.79.0");
  recorder_.start(source);
  ASSERT_TRUE(run_until(io_, [&] { return recorder_.decisions.size() == 1; }));
  EXPECT_TRUE(recorder_.decisions[0].target.empty());  // null AcceptedReleaseInfo

  reply(accepted("", 0, false));  // empty tag: still nothing, so no new decision
  ASSERT_TRUE(run_until(io_, [&] { return recorder_.polls_ok >= 4; }));
  EXPECT_EQ(recorder_.decisions.size(), 1u);

  reply(accepted("v0.80.0", 12345, false));
  ASSERT_TRUE(run_until(io_, [&] { return recorder_.decisions.size() == 2; }));
  EXPECT_EQ(recorder_.decisions[1].target, "0.80.0");
  EXPECT_EQ(recorder_.decisions[1].height, std::optional<std::uint64_t>(12345));
  EXPECT_FALSE(recorder_.decisions[1].activate);

  reply(accepted("v0.80.0", 12345, true));
  ASSERT_TRUE(run_until(io_, [&] { return recorder_.decisions.size() == 3; }));
  EXPECT_TRUE(recorder_.decisions[2].activate);
  EXPECT_EQ(recorder_.decisions[2].target, "0.80.0");

  source.set_current_version("0.80.0");  // switched: nothing wanted any more
  ASSERT_EQ(recorder_.decisions.size(), 4u);
  EXPECT_TRUE(recorder_.decisions[3].target.empty());
  EXPECT_TRUE(recorder_.errors.empty());

  // Every request was exactly the JSON-RPC call (the server logs BAD otherwise), ids counting up.
  const auto lines = requests();
  ASSERT_GE(lines.size(), 4u);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i], "POST /rpc id=" + std::to_string(i + 1));
  }
}

TEST_F(VegaSourceTest, AJsonRpcErrorIsReportedWithItsMessage) {
  reply(nullptr, json{{"code", -32601}, {"message", "rpc: can't find service protocolupgrade"}});
  start_server_and_wait();
  VegaSource source(io_, worker_, options_);
  recorder_.start(source);
  ASSERT_TRUE(run_until(io_, [&] { return !recorder_.errors.empty(); }));
  EXPECT_EQ(recorder_.errors[0],
            "vega poll " + object() +
                ": JSON-RPC error: code -32601: rpc: can't find service protocolupgrade");
  EXPECT_TRUE(recorder_.decisions.empty());
}

TEST_F(VegaSourceTest, AReplyWithTheWrongIdIsAnError) {
  reply(accepted("v0.80.0", 5, true), nullptr, 1);
  start_server_and_wait();
  VegaSource source(io_, worker_, options_);
  recorder_.start(source);
  ASSERT_TRUE(run_until(io_, [&] { return !recorder_.errors.empty(); }));
  EXPECT_EQ(recorder_.errors[0],
            "vega poll " + object() + ": reply id 2 does not match request id 1");
  EXPECT_TRUE(recorder_.decisions.empty());
}

TEST_F(VegaSourceTest, GarbageIsAnError) {
  reply(nullptr, nullptr, 0, "garbage");
  start_server_and_wait();
  VegaSource source(io_, worker_, options_);
  recorder_.start(source);
  ASSERT_TRUE(run_until(io_, [&] { return !recorder_.errors.empty(); }));
  EXPECT_EQ(recorder_.errors[0],
            "vega poll " + object() + ": not JSON (starts with '<html>not json</html>')");
}

TEST_F(VegaSourceTest, AWrongPathIsAnHttpError) {
  options_.vega_admin_path = "/admin";
  start_server_and_wait();
  VegaSource source(io_, worker_, options_);
  recorder_.start(source);
  ASSERT_TRUE(run_until(io_, [&] { return !recorder_.errors.empty(); }));
  EXPECT_EQ(recorder_.errors[0],
            "vega poll /admin on unix:" + options_.vega_admin_socket + ": HTTP 404 (path /admin)");
}

TEST_F(VegaSourceTest, AMissingSocketIsQuietUntilTheNodeComesUp) {
  VegaSource source(io_, worker_, options_);
  source.set_current_version("0.79.0");
  recorder_.start(source);
  ASSERT_TRUE(run_until(io_, [&] { return recorder_.polls_failed >= 5; }));
  EXPECT_TRUE(recorder_.errors.empty()) << recorder_.errors.front();
  EXPECT_TRUE(recorder_.decisions.empty());

  reply(accepted("v0.80.0", 77, false));
  start_server();  // the node finished starting
  ASSERT_TRUE(run_until(io_, [&] { return !recorder_.decisions.empty(); }));
  EXPECT_EQ(recorder_.decisions[0].target, "0.80.0");
  EXPECT_TRUE(recorder_.errors.empty());
}

TEST_F(VegaSourceTest, ASocketMissingBeyondTheGraceIsReportedOnce) {
  VegaSource source(io_, worker_, options_);
  source.set_missing_socket_grace(milliseconds(300));
  recorder_.start(source);
  ASSERT_TRUE(run_until(io_, [&] { return !recorder_.errors.empty(); }));
  EXPECT_EQ(recorder_.errors[0],
            "vega poll " + object() + ": socket does not exist (still missing after 300ms)");
  test::run_for(io_, milliseconds(600));
  EXPECT_EQ(recorder_.errors.size(), 1u);
}

TEST_F(VegaSourceTest, AStaleSocketIsAnError) {
  start_server_and_wait();
  server_->kill();  // the socket file stays, nobody listens
  VegaSource source(io_, worker_, options_);
  recorder_.start(source);
  ASSERT_TRUE(run_until(io_, [&] { return !recorder_.errors.empty(); }));
  EXPECT_EQ(recorder_.errors[0].rfind("vega poll " + object() + ": ", 0), 0u)
      << recorder_.errors[0];
}

TEST_F(VegaSourceTest, ANodeThatNeverAnswersTimesOut) {
  reply(nullptr, nullptr, 0, "hang");
  start_server_and_wait();
  VegaSource source(io_, worker_, options_);
  const auto started = std::chrono::steady_clock::now();
  recorder_.start(source);
  ASSERT_TRUE(run_until(
      io_, [&] { return !recorder_.errors.empty(); }, milliseconds(3000)));
  EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(2000));
  EXPECT_NE(recorder_.errors[0].find("timed out"), std::string::npos) << recorder_.errors[0];
}

TEST_F(VegaSourceTest, RedeliverRepeatsTheLastDecision) {
  reply(accepted("v0.80.0", 12345, true));
  start_server_and_wait();
  VegaSource source(io_, worker_, options_);
  source.set_current_version("0.79.0");
  recorder_.start(source);
  ASSERT_TRUE(run_until(io_, [&] { return recorder_.polls_ok >= 3; }));
  ASSERT_EQ(recorder_.decisions.size(), 1u);
  source.redeliver();
  ASSERT_EQ(recorder_.decisions.size(), 2u);
  EXPECT_TRUE(recorder_.decisions[1].activate);
}

}  // namespace
}  // namespace visor
