#include "visor/config/duration.h"

#include <gtest/gtest.h>

namespace visor {
namespace {

TEST(Duration, ParsesEachUnit) {
  EXPECT_EQ(parse_duration("500ms"), Duration(500));
  EXPECT_EQ(parse_duration("2s"), Duration(2000));
  EXPECT_EQ(parse_duration("5m"), Duration(300000));
  EXPECT_EQ(parse_duration("1h"), Duration(3600000));
  EXPECT_EQ(parse_duration("0"), Duration(0));
  EXPECT_EQ(parse_duration("0s"), Duration(0));
}

TEST(Duration, ParsesChainedParts) {
  EXPECT_EQ(parse_duration("1m30s"), Duration(90000));
  EXPECT_EQ(parse_duration("1h2m3s4ms"), Duration(3723004));
}

TEST(Duration, RejectsGarbageWithAReason) {
  for (const char* bad : {"", "5", "s", "-1s", "1.5s", "2 s", "10x", "1d", "ms5"}) {
    std::string error;
    EXPECT_FALSE(parse_duration(bad, &error).has_value()) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(Duration, GoDurationsTakeDecimalFractions) {
  EXPECT_EQ(parse_go_duration("1.5s"), Duration(1500));
  EXPECT_EQ(parse_go_duration(".5m"), Duration(30000));
  EXPECT_EQ(parse_go_duration("1m30.25s"), Duration(90250));
  EXPECT_EQ(parse_go_duration("300ms"), Duration(300));
  EXPECT_EQ(parse_go_duration("0.0001s"), Duration(0));  // truncated to whole milliseconds
  for (const char* bad : {"", ".s", "1.s.5", "-1.5s", "1.5", "1.5d"}) {
    EXPECT_FALSE(parse_go_duration(bad).has_value()) << bad;
  }
  EXPECT_FALSE(parse_duration("1.5s").has_value());  // visor's own syntax stays whole numbers
}

TEST(Duration, RejectsAbsurdlyLongValues) {
  std::string error;
  EXPECT_FALSE(parse_duration("999999999999h", &error).has_value());
  EXPECT_NE(error.find("too long"), std::string::npos);
}

TEST(Duration, FormatsReadably) {
  EXPECT_EQ(format_duration(Duration(500)), "500ms");
  EXPECT_EQ(format_duration(Duration(2000)), "2s");
  EXPECT_EQ(format_duration(Duration(1500)), "1s500ms");
  EXPECT_EQ(format_duration(Duration(1005)), "1s5ms");
  EXPECT_EQ(format_duration(Duration(3723004)), "1h2m3s4ms");
  EXPECT_EQ(format_duration(Duration(0)), "0s");
  EXPECT_EQ(format_duration(Duration(300000)), "5m");
  EXPECT_EQ(format_duration(Duration(7200000)), "2h");
}

TEST(Duration, FormatAndParseRoundTrip) {
  for (const long long ms :
       {1LL, 999LL, 1000LL, 1005LL, 1500LL, 59999LL, 60000LL, 90500LL, 3600001LL}) {
    EXPECT_EQ(parse_duration(format_duration(Duration(ms))), Duration(ms)) << ms;
  }
}

}  // namespace
}  // namespace visor
