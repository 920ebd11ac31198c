#include "visor/sources/lava_params.h"

#include <gtest/gtest.h>

namespace visor {
namespace {

const char* kParams =
    R"({"params":{"version":{"provider_target":"5.3.0","provider_min":"v4.2.1",)"
    R"("consumer_target":"v5.4.0","consumer_min":"5.0.0"},"other":{"x":1}},"extra":true})";

LavaVersions versions(const char* target, const char* min, LavaRole role = LavaRole::provider) {
  return LavaVersions{role, target, min};
}

TEST(LavaParams, UrlDropsTrailingSlashes) {
  EXPECT_EQ(lava_params_url("http://127.0.0.1:1317"),
            "http://127.0.0.1:1317/lavanet/lava/protocol/params");
  EXPECT_EQ(lava_params_url("https://lava.rest:443/"),
            "https://lava.rest:443/lavanet/lava/protocol/params");
  EXPECT_EQ(lava_params_url("http://h/rest//"), "http://h/rest/lavanet/lava/protocol/params");
}

TEST(LavaParams, ParsesProviderPairAndDropsTheV) {
  auto parsed = parse_lava_params(kParams, LavaRole::provider);
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->target, "5.3.0");
  EXPECT_EQ(parsed->min, "4.2.1");
  EXPECT_EQ(parsed->role, LavaRole::provider);
}

TEST(LavaParams, ParsesConsumerPair) {
  auto parsed = parse_lava_params(kParams, LavaRole::consumer);
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->target, "5.4.0");
  EXPECT_EQ(parsed->min, "5.0.0");
  EXPECT_EQ(parsed->role, LavaRole::consumer);
}

TEST(LavaParams, OnlyTheRolesFieldsAreRequired) {
  const char* provider_only =
      R"({"params":{"version":{"provider_target":"1.0.0","provider_min":"1.0.0"}}})";
  EXPECT_TRUE(parse_lava_params(provider_only, LavaRole::provider));
  auto consumer = parse_lava_params(provider_only, LavaRole::consumer);
  ASSERT_FALSE(consumer);
  EXPECT_EQ(consumer.error(), "params.version.consumer_target is missing");
}

TEST(LavaParams, RejectsWhatIsNotJson) {
  for (const char* body : {"", "<html>502 Bad Gateway</html>", "{\"params\":", "nul"}) {
    auto parsed = parse_lava_params(body, LavaRole::provider);
    ASSERT_FALSE(parsed) << body;
    EXPECT_NE(parsed.error().find(*body ? "not JSON" : "empty, expected JSON"), std::string::npos)
        << parsed.error();
  }
  auto html = parse_lava_params("<html>\n502</html>", LavaRole::provider);
  EXPECT_EQ(html.error(), "not JSON (starts with '<html>\\n502</html>')");
}

TEST(LavaParams, RejectsTheWrongShape) {
  for (const char* body : {"[]", "42", "{}", R"({"params":[]})", R"({"params":{}})",
                           R"({"params":{"version":"5.3.0"}})",
                           R"({"code":12,"message":"Not Implemented","details":[]})"}) {
    auto parsed = parse_lava_params(body, LavaRole::provider);
    ASSERT_FALSE(parsed) << body;
    EXPECT_EQ(parsed.error().rfind("wrong shape", 0), 0u) << parsed.error();
  }
}

TEST(LavaParams, NamesTheMissingOrBadField) {
  auto missing = parse_lava_params(R"({"params":{"version":{"provider_target":"5.3.0"}}})",
                                   LavaRole::provider);
  EXPECT_EQ(missing.error(), "params.version.provider_min is missing");
  auto null_value =
      parse_lava_params(R"({"params":{"version":{"provider_target":null,"provider_min":"1.0.0"}}})",
                        LavaRole::provider);
  EXPECT_EQ(null_value.error(), "params.version.provider_target is missing");
  auto number = parse_lava_params(
      R"({"params":{"version":{"provider_target":5,"provider_min":"1.0.0"}}})", LavaRole::provider);
  EXPECT_EQ(number.error(), "params.version.provider_target is not a string: 5");
  auto bad = parse_lava_params(
      R"({"params":{"version":{"provider_target":"five","provider_min":"1.0.0"}}})",
      LavaRole::provider);
  EXPECT_EQ(bad.error(), "params.version.provider_target 'five' is not a version");
  auto huge = parse_lava_params(
      R"({"params":{"version":{"provider_target":"99999999999999999999.0.0","provider_min":"1.0.0"}}})",
      LavaRole::provider);
  EXPECT_EQ(huge.error(),
            "params.version.provider_target '99999999999999999999.0.0' is not a version");
}

TEST(LavaParams, RejectsMinAboveTarget) {
  auto parsed = parse_lava_params(
      R"({"params":{"version":{"provider_target":"5.3.0","provider_min":"v5.4.0"}}})",
      LavaRole::provider);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error(), "provider_min 5.4.0 is above provider_target 5.3.0");
}

TEST(DecideLava, BelowMinIsMandatoryWithMinAsFallback) {
  for (auto policy : {UpgradeAt::target, UpgradeAt::min}) {
    auto decision = decide_lava(versions("5.3.0", "4.2.1"), policy, "4.2.0");
    EXPECT_EQ(decision.target, "5.3.0");
    EXPECT_TRUE(decision.activate);
    EXPECT_EQ(decision.fallbacks, std::vector<std::string>{"4.2.1"});
    EXPECT_FALSE(decision.height);
    EXPECT_EQ(decision.reason,
              "current 4.2.0 is below provider_min 4.2.1: mandatory upgrade to "
              "provider_target 5.3.0");
  }
}

TEST(DecideLava, BelowMinEqualToTargetHasNoFallback) {
  auto decision = decide_lava(versions("5.3.0", "5.3.0"), UpgradeAt::target, "v5.2.9");
  EXPECT_EQ(decision.target, "5.3.0");
  EXPECT_TRUE(decision.activate);
  EXPECT_TRUE(decision.fallbacks.empty());
}

TEST(DecideLava, BetweenMinAndTargetFollowsThePolicy) {
  auto now = decide_lava(versions("5.3.0", "4.2.1"), UpgradeAt::target, "4.2.1");
  EXPECT_EQ(now.target, "5.3.0");
  EXPECT_TRUE(now.activate);
  EXPECT_TRUE(now.fallbacks.empty());

  auto staged = decide_lava(versions("5.3.0", "4.2.1"), UpgradeAt::min, "5.2.9");
  EXPECT_EQ(staged.target, "5.3.0");
  EXPECT_FALSE(staged.activate);
  EXPECT_TRUE(staged.fallbacks.empty());
  EXPECT_NE(staged.reason.find("pre-staging only"), std::string::npos) << staged.reason;
}

TEST(DecideLava, AtOrAboveTargetWantsNothing) {
  for (const char* current : {"5.3.0", "v5.3.0", "5.3.1", "6.0.0"}) {
    auto decision = decide_lava(versions("5.3.0", "4.2.1"), UpgradeAt::target, current);
    EXPECT_TRUE(decision.target.empty()) << current;
    EXPECT_FALSE(decision.activate);
    EXPECT_TRUE(decision.fallbacks.empty());
  }
  auto decision = decide_lava(versions("5.3.0", "4.2.1"), UpgradeAt::target, "5.3.0");
  EXPECT_EQ(decision.reason, "current 5.3.0 meets provider_target 5.3.0");
}

TEST(DecideLava, PrereleaseBelowTheReleaseUpgrades) {
  auto decision = decide_lava(versions("5.3.0", "5.0.0"), UpgradeAt::target, "5.3.0-rc.1");
  EXPECT_EQ(decision.target, "5.3.0");
  EXPECT_TRUE(decision.activate);
}

TEST(DecideLava, UnknownCurrentDoesNothingAndSaysWhy) {
  for (const char* current : {"", "unknown", "5.3"}) {
    auto decision = decide_lava(versions("5.3.0", "4.2.1"), UpgradeAt::target, current);
    EXPECT_TRUE(decision.target.empty()) << current;
    EXPECT_FALSE(decision.activate);
    EXPECT_NE(decision.reason.find("current version unknown"), std::string::npos)
        << decision.reason;
  }
}

TEST(DecideLava, ConsumerNamesItsFields) {
  auto decision =
      decide_lava(versions("5.4.0", "5.0.0", LavaRole::consumer), UpgradeAt::target, "4.0.0");
  EXPECT_EQ(decision.target, "5.4.0");
  EXPECT_EQ(decision.fallbacks, std::vector<std::string>{"5.0.0"});
  EXPECT_NE(decision.reason.find("consumer_min 5.0.0"), std::string::npos) << decision.reason;
}

TEST(DecideLava, ParsedConsumerEndToEnd) {
  auto parsed = parse_lava_params(kParams, LavaRole::consumer);
  ASSERT_TRUE(parsed);
  auto decision = decide_lava(*parsed, UpgradeAt::min, "5.1.0");
  EXPECT_EQ(decision.target, "5.4.0");
  EXPECT_FALSE(decision.activate);
}

TEST(SameAction, IgnoresOnlyTheReason) {
  UpgradeDecision a;
  a.target = "1.0.0";
  a.reason = "one";
  UpgradeDecision b = a;
  b.reason = "two";
  EXPECT_TRUE(same_action(a, b));
  b.activate = true;
  EXPECT_FALSE(same_action(a, b));
  b = a;
  b.height = 5;
  EXPECT_FALSE(same_action(a, b));
  b = a;
  b.fallbacks = {"0.9.0"};
  EXPECT_FALSE(same_action(a, b));
}

}  // namespace
}  // namespace visor
