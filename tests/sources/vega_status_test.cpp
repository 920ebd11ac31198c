#include "visor/sources/vega_status.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace visor {
namespace {

std::string reply(const std::string& info, bool ready, int id = 7,
                  const std::string& error = "null") {
  return R"({"result":{"AcceptedReleaseInfo":)" + info + R"(,"ReadyToUpgrade":)" +
         (ready ? "true" : "false") + R"(},"error":)" + error + R"(,"id":)" + std::to_string(id) +
         "}";
}

const std::string kAccepted = R"({"VegaReleaseTag":"v0.80.0","UpgradeBlockHeight":12345})";

TEST(VegaStatus, RequestBodyIsExactlyTheJsonRpcCall) {
  EXPECT_EQ(vega_request_body(7),
            R"({"method":"protocolupgrade.UpgradeStatus","params":[null],"id":7})");
  auto parsed = nlohmann::json::parse(vega_request_body(12));
  EXPECT_EQ(parsed["method"], "protocolupgrade.UpgradeStatus");
  EXPECT_EQ(parsed["params"], nlohmann::json::array({nullptr}));
  EXPECT_EQ(parsed["id"], 12);
}

TEST(VegaStatus, ParsesAnAcceptedRelease) {
  auto status = parse_vega_reply(reply(kAccepted, false), 7);
  ASSERT_TRUE(status) << status.error();
  EXPECT_TRUE(status->accepted());
  EXPECT_EQ(status->release_tag, "v0.80.0");
  EXPECT_EQ(status->version, "0.80.0");
  EXPECT_EQ(status->upgrade_height, 12345u);
  EXPECT_FALSE(status->ready_to_upgrade);
  auto ready = parse_vega_reply(reply(kAccepted, true), 7);
  ASSERT_TRUE(ready);
  EXPECT_TRUE(ready->ready_to_upgrade);
}

TEST(VegaStatus, NullInfoBeforeTheFirstBlockMeansNothingAccepted) {
  auto status = parse_vega_reply(reply("null", false), 7);
  ASSERT_TRUE(status) << status.error();
  EXPECT_FALSE(status->accepted());
  EXPECT_TRUE(status->release_tag.empty());
}

TEST(VegaStatus, EmptyTagMeansNothingAccepted) {
  auto status =
      parse_vega_reply(reply(R"({"VegaReleaseTag":"","UpgradeBlockHeight":0})", false), 7);
  ASSERT_TRUE(status) << status.error();
  EXPECT_FALSE(status->accepted());
  EXPECT_EQ(status->upgrade_height, 0u);
}

TEST(VegaStatus, ToleratesExtraFieldsAndNoErrorKey) {
  auto status = parse_vega_reply(
      R"({"id":3,"jsonrpc":"1.0","result":{"ReadyToUpgrade":true,"Other":1,)"
      R"("AcceptedReleaseInfo":{"VegaReleaseTag":"v0.80.1-rc.1","UpgradeBlockHeight":"99","Extra":[]}}})",
      3);
  ASSERT_TRUE(status) << status.error();
  EXPECT_EQ(status->version, "0.80.1-rc.1");
  EXPECT_EQ(status->upgrade_height, 99u);
  EXPECT_TRUE(status->ready_to_upgrade);
}

TEST(VegaStatus, ErrorObjectOrStringIsAnErrorWithItsMessage) {
  auto object = parse_vega_reply(
      R"({"result":null,"error":{"code":-32601,"message":"rpc: can't find method"},"id":7})", 7);
  ASSERT_FALSE(object);
  EXPECT_EQ(object.error(), "JSON-RPC error: code -32601: rpc: can't find method");
  auto text = parse_vega_reply(
      R"({"result":null,"error":"protocol upgrade service unavailable","id":7})", 7);
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error(), "JSON-RPC error: protocol upgrade service unavailable");
  // An error wins over a result that is present as well.
  auto both = parse_vega_reply(reply(kAccepted, true, 7, R"("boom")"), 7);
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error(), "JSON-RPC error: boom");
}

TEST(VegaStatus, WrongIdIsAnError) {
  auto wrong = parse_vega_reply(reply(kAccepted, true, 8), 7);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error(), "reply id 8 does not match request id 7");
  auto missing = parse_vega_reply(
      R"({"result":{"AcceptedReleaseInfo":null,"ReadyToUpgrade":false},"error":null})", 7);
  EXPECT_EQ(missing.error(), "reply no id does not match request id 7");
  auto text_id = parse_vega_reply(R"({"result":null,"error":null,"id":"7"})", 7);
  EXPECT_EQ(text_id.error(), "reply id \"7\" does not match request id 7");
}

TEST(VegaStatus, RejectsWhatIsNotJson) {
  auto html = parse_vega_reply("404 page not found\n", 7);
  ASSERT_FALSE(html);
  EXPECT_EQ(html.error(), "not JSON (starts with '404 page not found\\n')");
  EXPECT_EQ(parse_vega_reply("", 7).error(), "empty, expected JSON");
  EXPECT_FALSE(parse_vega_reply(reply(kAccepted, true).substr(0, 40), 7));
}

TEST(VegaStatus, RejectsTheWrongShape) {
  for (const std::string& body :
       {std::string("[1,2]"), std::string(R"({"result":null,"error":null,"id":7})"),
        std::string(R"({"result":"ok","error":null,"id":7})"),
        std::string(R"({"result":{"AcceptedReleaseInfo":null},"error":null,"id":7})"),
        std::string(R"({"result":{"ReadyToUpgrade":"yes","AcceptedReleaseInfo":null},"id":7})"),
        std::string(R"({"result":{"ReadyToUpgrade":false},"id":7})"),
        std::string(R"({"result":{"ReadyToUpgrade":false,"AcceptedReleaseInfo":"v1.0.0"},"id":7})"),
        reply(R"({"VegaReleaseTag":5,"UpgradeBlockHeight":1})", false),
        reply(R"({"VegaReleaseTag":"v1.0.0"})", false)}) {
    auto status = parse_vega_reply(body, 7);
    ASSERT_FALSE(status) << body;
    EXPECT_EQ(status.error().rfind("wrong shape", 0), 0u) << status.error();
  }
}

TEST(VegaStatus, RejectsABadTagOrHeight) {
  EXPECT_EQ(
      parse_vega_reply(reply(R"({"VegaReleaseTag":"latest","UpgradeBlockHeight":1})", false), 7)
          .error(),
      "accepted release tag 'latest' is not a version");
  for (const char* height :
       {"-1", "1.5", "1e30", "18446744073709551616", "\"12a\"", "null", "true"}) {
    auto status = parse_vega_reply(
        reply(std::string(R"({"VegaReleaseTag":"v1.0.0","UpgradeBlockHeight":)") + height + "}",
              false),
        7);
    ASSERT_FALSE(status) << height;
    EXPECT_NE(status.error().find("is not a block height"), std::string::npos) << status.error();
  }
}

TEST(VegaStatus, AcceptsTheLargestHeight) {
  auto status = parse_vega_reply(
      reply(R"({"VegaReleaseTag":"v1.0.0","UpgradeBlockHeight":18446744073709551615})", false), 7);
  ASSERT_TRUE(status) << status.error();
  EXPECT_EQ(status->upgrade_height, 18446744073709551615ULL);
}

VegaUpgradeStatus accepted(const char* version, bool ready, std::uint64_t height = 12345) {
  VegaUpgradeStatus status;
  status.release_tag = std::string("v") + version;
  status.version = version;
  status.upgrade_height = height;
  status.ready_to_upgrade = ready;
  return status;
}

TEST(DecideVega, AcceptedAboveCurrentPreStagesWithHeight) {
  auto decision = decide_vega(accepted("0.80.0", false), "0.79.0");
  EXPECT_EQ(decision.target, "0.80.0");
  EXPECT_FALSE(decision.activate);
  EXPECT_EQ(decision.height, std::optional<std::uint64_t>(12345));
  EXPECT_TRUE(decision.fallbacks.empty());
  EXPECT_TRUE(decision.plan.empty());
  EXPECT_NE(decision.reason.find("pre-staging"), std::string::npos) << decision.reason;
}

TEST(DecideVega, ReadyToUpgradeActivates) {
  auto decision = decide_vega(accepted("0.80.0", true), "v0.79.0");
  EXPECT_EQ(decision.target, "0.80.0");
  EXPECT_TRUE(decision.activate);
  EXPECT_EQ(decision.height, std::optional<std::uint64_t>(12345));
}

TEST(DecideVega, NothingAcceptedWantsNothing) {
  VegaUpgradeStatus none;
  none.ready_to_upgrade = true;  // meaningless without a release
  auto decision = decide_vega(none, "0.79.0");
  EXPECT_TRUE(decision.target.empty());
  EXPECT_FALSE(decision.activate);
  EXPECT_FALSE(decision.height);
  EXPECT_EQ(decision.reason, "no release accepted by the network");
}

TEST(DecideVega, AcceptedNotAboveCurrentWantsNothing) {
  for (const char* current : {"0.80.0", "0.81.0"}) {
    auto decision = decide_vega(accepted("0.80.0", true), current);
    EXPECT_TRUE(decision.target.empty()) << current;
    EXPECT_FALSE(decision.activate);
  }
}

TEST(DecideVega, UnknownCurrentFollowsTheNode) {
  auto decision = decide_vega(accepted("0.80.0", true), "");
  EXPECT_EQ(decision.target, "0.80.0");
  EXPECT_TRUE(decision.activate);
  EXPECT_NE(decision.reason.find("current version unknown"), std::string::npos) << decision.reason;
}

TEST(DecideVega, ParsedReplyEndToEnd) {
  auto status = parse_vega_reply(reply(kAccepted, true, 41), 41);
  ASSERT_TRUE(status);
  auto decision = decide_vega(*status, "0.79.2");
  EXPECT_EQ(decision.target, "0.80.0");
  EXPECT_TRUE(decision.activate);
  EXPECT_EQ(decision.height, std::optional<std::uint64_t>(12345));
}

}  // namespace
}  // namespace visor
