#include "visor/sources/lava_source.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>

#include "source_test_support.h"

namespace visor {
namespace {

using std::chrono::milliseconds;
using test::Recorder;
using test::run_until;

std::string params(const std::string& target, const std::string& min) {
  return R"({"params":{"version":{"provider_target":")" + target + R"(","provider_min":")" + min +
         R"(","consumer_target":"9.0.0","consumer_min":"9.0.0"}}})";
}

// A real HTTP server on 127.0.0.1 whose reply the test changes by rewriting a control file.
class LavaSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reply(200, params("5.3.0", "4.2.1"));
    server_ = std::make_unique<test::PythonServer>(
        "lava_server.py", std::vector<std::string>{"--port-file", scratch_.file("port"),
                                                   "--control", scratch_.file("control.json"),
                                                   "--log", scratch_.file("requests.log")});
    ASSERT_TRUE(test::wait_for_file(scratch_.file("port"))) << "lava_server.py did not start";
    base_ = "http://127.0.0.1:" + test::read_file(scratch_.file("port"));
    options_.source = SourceKind::lava;
    options_.lava_rest = base_ + "/";  // the trailing slash must not double up
    options_.poll_interval = milliseconds(100);
    options_.request_timeout = milliseconds(500);
  }

  void reply(int status, const std::string& body, const std::string& mode = "normal") {
    nlohmann::json control = {{"status", status}, {"body", body}, {"mode", mode}};
    test::replace_file(scratch_.file("control.json"), control.dump());
  }

  std::string params_url() const { return base_ + "/lavanet/lava/protocol/params"; }

  test::ScratchDir scratch_;
  std::unique_ptr<test::PythonServer> server_;
  std::string base_;
  Options options_;
  boost::asio::io_context io_;
  Worker worker_{io_};
  Recorder recorder_;
};

TEST_F(LavaSourceTest, PollsTheParamsUrlAndDeliversTheDecision) {
  LavaSource source(io_, worker_, options_);
  EXPECT_EQ(source.url(), params_url());
  EXPECT_STREQ(source.name(), "lava");
  source.set_current_version("4.0.0");
  recorder_.start(source);
  ASSERT_TRUE(run_until(io_, [&] { return !recorder_.decisions.empty(); }));
  const auto& decision = recorder_.decisions.front();
  EXPECT_EQ(decision.target, "5.3.0");
  EXPECT_TRUE(decision.activate);
  EXPECT_EQ(decision.fallbacks, std::vector<std::string>{"4.2.1"});
  EXPECT_TRUE(recorder_.errors.empty());
  EXPECT_GE(recorder_.polls_ok, 1);
  EXPECT_GT(recorder_.max_latency, 0.0);
  const auto requests = test::read_lines(scratch_.file("requests.log"));
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.front(), "GET /lavanet/lava/protocol/params");
}

TEST_F(LavaSourceTest, DeliversADecisionOnceButRedeliversOnRequest) {
  LavaSource source(io_, worker_, options_);
  source.set_current_version("5.0.0");
  recorder_.start(source);
  ASSERT_TRUE(run_until(io_, [&] { return recorder_.polls_ok >= 5; }));
  ASSERT_EQ(recorder_.decisions.size(), 1u);
  EXPECT_EQ(recorder_.decisions[0].target, "5.3.0");
  EXPECT_TRUE(recorder_.decisions[0].activate);
  EXPECT_TRUE(recorder_.decisions[0].fallbacks.empty());
  source.redeliver();
  ASSERT_EQ(recorder_.decisions.size(), 2u);
  EXPECT_TRUE(same_action(recorder_.decisions[0], recorder_.decisions[1]));
}

TEST_F(LavaSourceTest, AChangedReplyGivesANewDecision) {
  LavaSource source(io_, worker_, options_);
  source.set_current_version("5.0.0");
  recorder_.start(source);
  ASSERT_TRUE(run_until(io_, [&] { return recorder_.decisions.size() == 1; }));
  reply(200, params("v5.4.0", "v5.1.0"));
  ASSERT_TRUE(run_until(io_, [&] { return recorder_.decisions.size() == 2; }));
  EXPECT_EQ(recorder_.decisions[1].target, "5.4.0");
  EXPECT_EQ(recorder_.decisions[1].fallbacks, std::vector<std::string>{"5.1.0"});  // 5.0.0 < min
}

TEST_F(LavaSourceTest, MinPolicyPreStagesThenANewCurrentVersionIsJudgedAtOnce) {
  options_.upgrade_at = UpgradeAt::min;
  LavaSource source(io_, worker_, options_);
  source.set_current_version("5.0.0");
  recorder_.start(source);
  ASSERT_TRUE(run_until(io_, [&] { return recorder_.decisions.size() == 1; }));
  EXPECT_EQ(recorder_.decisions[0].target, "5.3.0");
  EXPECT_FALSE(recorder_.decisions[0].activate);
  source.set_current_version("5.3.0");  // upgraded: nothing is wanted any more, without a poll
  ASSERT_EQ(recorder_.decisions.size(), 2u);
  EXPECT_TRUE(recorder_.decisions[1].target.empty());
  EXPECT_FALSE(recorder_.decisions[1].activate);
}

TEST_F(LavaSourceTest, ConsumerRoleReadsTheConsumerPair) {
  options_.lava_role = LavaRole::consumer;
  LavaSource source(io_, worker_, options_);
  source.set_current_version("5.3.0");
  recorder_.start(source);
  ASSERT_TRUE(run_until(io_, [&] { return !recorder_.decisions.empty(); }));
  EXPECT_EQ(recorder_.decisions[0].target, "9.0.0");
  EXPECT_TRUE(recorder_.decisions[0].activate);
}

TEST_F(LavaSourceTest, UnknownCurrentVersionDeliversNothingToDo) {
  LavaSource source(io_, worker_, options_);
  recorder_.start(source);
  ASSERT_TRUE(run_until(io_, [&] { return !recorder_.decisions.empty(); }));
  EXPECT_TRUE(recorder_.decisions[0].target.empty());
  EXPECT_NE(recorder_.decisions[0].reason.find("current version unknown"), std::string::npos);
}

TEST_F(LavaSourceTest, HttpErrorIsOneLineOnceThenRecovers) {
  reply(500, R"({"code":13,"message":"internal"})");
  LavaSource source(io_, worker_, options_);
  source.set_current_version("5.0.0");
  recorder_.start(source);
  ASSERT_TRUE(run_until(io_, [&] { return recorder_.polls_failed >= 4; }));
  ASSERT_EQ(recorder_.errors.size(), 1u) << "the same error is not repeated every poll";
  EXPECT_EQ(recorder_.errors[0],
            "lava poll " + params_url() + R"(: HTTP 500 ({"code":13,"message":"internal"}))");
  EXPECT_TRUE(recorder_.decisions.empty());

  reply(200, params("5.3.0", "4.2.1"));
  ASSERT_TRUE(run_until(io_, [&] { return !recorder_.decisions.empty(); }));
  // After a success the same failure is reported again at once.
  reply(500, R"({"code":13,"message":"internal"})");
  ASSERT_TRUE(run_until(io_, [&] { return recorder_.errors.size() == 2; }));
}

TEST_F(LavaSourceTest, GarbledRepliesAreErrors) {
  reply(200, "<html>gateway</html>");
  LavaSource source(io_, worker_, options_);
  source.set_current_version("5.0.0");
  recorder_.start(source);
  ASSERT_TRUE(run_until(io_, [&] { return !recorder_.errors.empty(); }));
  EXPECT_EQ(recorder_.errors[0],
            "lava poll " + params_url() + ": not JSON (starts with '<html>gateway</html>')");
  reply(200, R"({"params":{"version":{"provider_target":"5.3.0","provider_min":"6.0.0"}}})");
  ASSERT_TRUE(run_until(io_, [&] { return recorder_.errors.size() == 2; }));
  EXPECT_EQ(recorder_.errors[1],
            "lava poll " + params_url() + ": provider_min 6.0.0 is above provider_target 5.3.0");
  EXPECT_TRUE(recorder_.decisions.empty());
  EXPECT_EQ(recorder_.polls_ok, 0);
}

TEST_F(LavaSourceTest, AServerThatNeverAnswersTimesOut) {
  reply(200, "", "hang");
  LavaSource source(io_, worker_, options_);
  source.set_current_version("5.0.0");
  const auto started = std::chrono::steady_clock::now();
  recorder_.start(source);
  ASSERT_TRUE(run_until(
      io_, [&] { return !recorder_.errors.empty(); }, milliseconds(3000)));
  EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(2000));
  EXPECT_EQ(recorder_.errors[0].rfind("lava poll " + params_url() + ": ", 0), 0u)
      << recorder_.errors[0];
  EXPECT_NE(recorder_.errors[0].find("timed out"), std::string::npos) << recorder_.errors[0];
  EXPECT_EQ(recorder_.polls_failed, 1);
}

TEST_F(LavaSourceTest, A50MegabyteReplyIsCutOffAtOneMebibyte) {
  for (const char* mode : {"huge", "huge-stream"}) {
    reply(200, "", mode);
    Recorder recorder;
    LavaSource source(io_, worker_, options_);
    source.set_current_version("5.0.0");
    recorder.start(source);
    ASSERT_TRUE(run_until(io_, [&] { return !recorder.errors.empty(); })) << mode;
    EXPECT_EQ(recorder.errors[0], "lava poll " + params_url() + ": reply larger than 1048576 bytes")
        << mode;
    source.stop();
  }
}

TEST_F(LavaSourceTest, ConnectionRefusedIsAnError) {
  server_->kill();
  LavaSource source(io_, worker_, options_);
  recorder_.start(source);
  ASSERT_TRUE(run_until(io_, [&] { return !recorder_.errors.empty(); }));
  EXPECT_EQ(recorder_.errors[0].rfind("lava poll " + params_url() + ": ", 0), 0u)
      << recorder_.errors[0];
}

TEST_F(LavaSourceTest, NothingIsReportedAfterStop) {
  LavaSource source(io_, worker_, options_);
  source.set_current_version("5.0.0");
  recorder_.start(source);
  source.stop();  // the first fetch is already queued on the worker
  test::run_for(io_, milliseconds(400));
  EXPECT_EQ(recorder_.polls(), 0);
  EXPECT_TRUE(recorder_.decisions.empty());
  source.redeliver();
  EXPECT_TRUE(recorder_.decisions.empty());
}

TEST_F(LavaSourceTest, DestroyingTheSourceWithAFetchInFlightIsSafe) {
  reply(200, "", "hang");
  {
    LavaSource source(io_, worker_, options_);
    recorder_.start(source);
    test::run_for(io_, milliseconds(50));
  }
  test::run_for(io_, milliseconds(700));  // the timed-out fetch completes into nothing
  EXPECT_EQ(recorder_.polls(), 0);
}

}  // namespace
}  // namespace visor
