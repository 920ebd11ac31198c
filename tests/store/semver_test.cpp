#include "visor/store/semver.h"

#include <gtest/gtest.h>

namespace visor {
namespace {

SemVer v(const char* text) {
  auto parsed = SemVer::parse(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(SemVer{});
}

TEST(SemVer, ParsesWithAndWithoutLeadingV) {
  EXPECT_EQ(v("5.2.1").str(), "5.2.1");
  EXPECT_EQ(v("v0.79.0").str(), "0.79.0");
  EXPECT_EQ(v("v0.79.0").tag(), "v0.79.0");
  EXPECT_EQ(v("1.0.0-rc.1").prerelease(), "rc.1");
  EXPECT_EQ(v("1.0.0+build.5").str(), "1.0.0");
}

TEST(SemVer, RejectsWhatIsNotOneVersion) {
  for (const char* bad :
       {"", "5", "5.2", "5.2.1.4", "05.2.1", "5.2.x", "x5.2.1", "5.2.1 ", "v", "5..1"}) {
    EXPECT_FALSE(SemVer::parse(bad).has_value()) << bad;
  }
}

TEST(SemVer, OrdersBySemverPrecedence) {
  EXPECT_LT(v("1.2.3"), v("1.2.4"));
  EXPECT_LT(v("1.2.9"), v("1.10.0"));
  EXPECT_LT(v("1.9.9"), v("2.0.0"));
  EXPECT_LT(v("1.0.0-alpha"), v("1.0.0"));
  EXPECT_LT(v("1.0.0-alpha"), v("1.0.0-alpha.1"));
  EXPECT_LT(v("1.0.0-alpha.1"), v("1.0.0-alpha.beta"));
  EXPECT_LT(v("1.0.0-beta.2"), v("1.0.0-beta.11"));
  EXPECT_LT(v("1.0.0-rc.1"), v("1.0.0"));
  EXPECT_EQ(v("v1.0.0"), v("1.0.0+meta"));
}

TEST(SemVer, FindsTheFirstVersionInOutput) {
  EXPECT_EQ(SemVer::find_in("5.2.1\n")->str(), "5.2.1");
  EXPECT_EQ(SemVer::find_in(R"({"version":"v0.79.0","hash":"abc1.2.3"})")->str(), "0.79.0");
  EXPECT_EQ(SemVer::find_in("lavap version v2.4.0-rc2 (go1.21)")->str(), "2.4.0-rc2");
  EXPECT_EQ(SemVer::find_in("built 10.0.0.1 then 3.4.5")->str(), "3.4.5");
  EXPECT_FALSE(SemVer::find_in("no version here 1.2").has_value());
}

TEST(SemVer, NormalizeDropsTheV) {
  EXPECT_EQ(normalize_version("v2.0.0"), "2.0.0");
  EXPECT_FALSE(normalize_version("gov-upgrade-2").has_value());
}

}  // namespace
}  // namespace visor
