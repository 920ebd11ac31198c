#include "visor/sources/upgrade_info.h"

#include <gtest/gtest.h>

namespace visor {
namespace {

const std::string kHex = "8630d1e36017ca680d572926d6a4fc7fe9a24901c52f48c70523b7d44ad0cfb2";
const std::string kAmd64Url = "https://example.com/simd-linux-amd64?checksum=sha256:" + kHex;
const std::string kAnyUrl = "https://example.com/simd.zip?checksum=sha256:" + kHex;
const Platform kAmd64{"linux", "amd64"};
const Platform kArm64{"linux", "arm64"};

std::string info_as_string() {
  return R"({"name":"v2.0.0","time":"0001-01-01T00:00:00Z","height":1234,"info":"{\"binaries\":{\"linux/amd64\":\")" +
         kAmd64Url + R"(\",\"any\":\")" + kAnyUrl + R"(\"}}"})";
}

TEST(UpgradeInfo, ParsesNameHeightAndBinariesFromAJsonString) {
  auto plan = parse_upgrade_info(info_as_string());
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_EQ(plan->name, "v2.0.0");
  EXPECT_EQ(plan->height, 1234u);
  ASSERT_EQ(plan->binaries.size(), 2u);
  EXPECT_EQ(plan->binaries.at("linux/amd64"), kAmd64Url);
  EXPECT_EQ(plan->binaries.at("any"), kAnyUrl);
  EXPECT_TRUE(plan->info_url.empty());
}

TEST(UpgradeInfo, ParsesBinariesFromAnObject) {
  auto plan = parse_upgrade_info(
      R"({"name":"gov-upgrade-2","height":"77","info":{"binaries":{"linux/arm64":")" + kAmd64Url +
      R"("}}})");
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_EQ(plan->name, "gov-upgrade-2");
  EXPECT_EQ(plan->height, 77u);
  EXPECT_EQ(plan->binaries.at("linux/arm64"), kAmd64Url);
  EXPECT_NE(plan->info.find("binaries"), std::string::npos);
}

TEST(UpgradeInfo, FreeTextOrUrlInfoIsKeptWithoutBinaries) {
  auto text = parse_upgrade_info(R"({"name":"v2.0.0","height":5,"info":"see the forum post"})");
  ASSERT_TRUE(text);
  EXPECT_EQ(text->info, "see the forum post");
  EXPECT_TRUE(text->binaries.empty());
  EXPECT_TRUE(text->info_url.empty());

  auto url = parse_upgrade_info(
      R"({"name":"v2.0.0","height":5,"info":"https://ex.com/plan.json?checksum=sha256:ab"})");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->info_url, "https://ex.com/plan.json?checksum=sha256:ab");

  auto none = parse_upgrade_info(R"({"name":"v2.0.0","height":5})");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->info.empty());

  auto odd = parse_upgrade_info(
      R"({"name":"v2.0.0","height":5,"info":{"binaries":{"any":7,"linux/amd64":""}}})");
  ASSERT_TRUE(odd) << odd.error();
  EXPECT_TRUE(odd->binaries.empty());
}

TEST(UpgradeInfo, EmptyOrHalfWrittenIsAnError) {
  const std::string whole = info_as_string();
  EXPECT_FALSE(parse_upgrade_info(""));
  for (std::size_t length : {std::size_t{1}, std::size_t{10}, whole.size() / 2, whole.size() - 1}) {
    EXPECT_FALSE(parse_upgrade_info(whole.substr(0, length))) << length;
  }
}

TEST(UpgradeInfo, RejectsMissingOrBadNameAndHeight) {
  EXPECT_EQ(parse_upgrade_info(R"({"height":5})").error(),
            "no plan name (\"name\" missing, empty or not a string)");
  EXPECT_FALSE(parse_upgrade_info(R"({"name":"","height":5})"));
  EXPECT_FALSE(parse_upgrade_info(R"({"name":7,"height":5})"));
  EXPECT_EQ(parse_upgrade_info(R"({"name":"v2.0.0"})").error(), "no \"height\"");
  EXPECT_EQ(parse_upgrade_info(R"({"name":"v2.0.0","height":-1})").error(),
            "height -1 is not a block height");
  EXPECT_FALSE(parse_upgrade_info(R"({"name":"v2.0.0","height":99999999999999999999999})"));
  EXPECT_FALSE(parse_upgrade_info(R"({"name":"v2.0.0","height":"0x10"})"));
  EXPECT_FALSE(parse_upgrade_info(R"(["v2.0.0",5])"));
}

TEST(UpgradeInfo, BinaryUrlPrefersExactPlatformThenAny) {
  auto plan = parse_upgrade_info(info_as_string());
  ASSERT_TRUE(plan);
  EXPECT_EQ(binary_url_for(*plan, "linux", "amd64"), kAmd64Url);
  EXPECT_EQ(binary_url_for(*plan, "linux", "arm64"), kAnyUrl);
  UpgradeInfo no_any = *plan;
  no_any.binaries.erase("any");
  EXPECT_FALSE(binary_url_for(no_any, "linux", "arm64"));
}

TEST(UpgradeInfo, Sha256FromTheChecksumQuery) {
  EXPECT_EQ(sha256_from_url(kAmd64Url), kHex);
  EXPECT_EQ(sha256_from_url("https://e/x?foo=1&checksum=sha256:" + kHex + "&bar=2"), kHex);
  std::string upper = kHex;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(sha256_from_url("https://e/x?checksum=sha256:" + upper), kHex);
  EXPECT_EQ(sha256_from_url("https://e/x"), "");
  EXPECT_EQ(sha256_from_url("https://e/x?checksum=sha512:" + kHex + kHex), "");
  EXPECT_EQ(sha256_from_url("https://e/x?checksum=sha256:abc"), "");
  EXPECT_EQ(sha256_from_url("https://e/x?checksum=sha256:" + kHex.substr(1) + "g"), "");
}

TEST(DecideCosmos, VersionNamedPlanWithBinaries) {
  auto plan = parse_upgrade_info(info_as_string());
  ASSERT_TRUE(plan);
  auto decision = decide_cosmos(*plan, "", "1.9.0", kAmd64);
  EXPECT_EQ(decision.plan, "v2.0.0");
  EXPECT_EQ(decision.target, "2.0.0");
  EXPECT_TRUE(decision.activate);
  EXPECT_EQ(decision.height, std::optional<std::uint64_t>(1234));
  EXPECT_EQ(decision.url, kAmd64Url);  // the full URL, checksum query kept
  EXPECT_EQ(decision.sha256, kHex);
  EXPECT_TRUE(decision.fallbacks.empty());

  auto arm = decide_cosmos(*plan, "", "1.9.0", kArm64);
  EXPECT_EQ(arm.url, kAnyUrl);
}

TEST(DecideCosmos, NonVersionPlanLeavesTargetToTheDaemon) {
  auto plan = parse_upgrade_info(R"({"name":"gov-upgrade-2","height":900,"info":""})");
  ASSERT_TRUE(plan);
  auto decision = decide_cosmos(*plan, "", "1.0.0", kAmd64);
  EXPECT_EQ(decision.plan, "gov-upgrade-2");
  EXPECT_TRUE(decision.target.empty());
  EXPECT_TRUE(decision.activate);
  EXPECT_EQ(decision.height, std::optional<std::uint64_t>(900));
  EXPECT_TRUE(decision.url.empty());
  EXPECT_NE(decision.reason.find("the daemon maps it"), std::string::npos) << decision.reason;

  auto mapped = decide_cosmos(*plan, "v3.1.0", "1.0.0", kAmd64);
  EXPECT_EQ(mapped.target, "3.1.0");
  EXPECT_EQ(mapped.plan, "gov-upgrade-2");
}

TEST(DecideCosmos, UnknownCurrentActs) {
  auto plan = parse_upgrade_info(R"({"name":"v2.0.0","height":10})");
  ASSERT_TRUE(plan);
  auto decision = decide_cosmos(*plan, "", "", kAmd64);
  EXPECT_EQ(decision.target, "2.0.0");
  EXPECT_TRUE(decision.activate);
}

TEST(DecideCosmos, PlanAlreadyRunningAsksNothing) {
  auto plan = parse_upgrade_info(R"({"name":"v2.0.0","height":10})");
  ASSERT_TRUE(plan);
  for (const char* current : {"2.0.0", "v2.1.0"}) {
    auto decision = decide_cosmos(*plan, "", current, kAmd64);
    EXPECT_FALSE(decision.activate) << current;
    EXPECT_TRUE(decision.target.empty());
    EXPECT_EQ(decision.plan, "v2.0.0");
  }
}

TEST(DecideCosmos, NoBinaryForThisPlatformIsSaid) {
  auto plan = parse_upgrade_info(
      R"({"name":"v2.0.0","height":10,"info":{"binaries":{"darwin/arm64":"https://x/y"}}})");
  ASSERT_TRUE(plan);
  auto decision = decide_cosmos(*plan, "", "1.0.0", kAmd64);
  EXPECT_TRUE(decision.url.empty());
  EXPECT_NE(decision.reason.find("no binary listed for linux/amd64"), std::string::npos)
      << decision.reason;
}

TEST(HostPlatform, IsLinuxWithAKnownArch) {
  const auto platform = host_platform();
  EXPECT_EQ(platform.os, "linux");
  EXPECT_FALSE(platform.arch.empty());
}

}  // namespace
}  // namespace visor
