#include "visor/process/backoff.h"

#include <gtest/gtest.h>

namespace visor {
namespace {

using std::chrono::seconds;

TEST(Backoff, DoublesFromInitialUpToMax) {
  Backoff backoff(Duration(1000), Duration(60000));
  EXPECT_EQ(backoff.nominal(1), Duration(1000));
  EXPECT_EQ(backoff.nominal(2), Duration(2000));
  EXPECT_EQ(backoff.nominal(3), Duration(4000));
  EXPECT_EQ(backoff.nominal(6), Duration(32000));
  EXPECT_EQ(backoff.nominal(7), Duration(60000));
  EXPECT_EQ(backoff.nominal(1000), Duration(60000));
}

TEST(Backoff, JitterStaysWithinTwentyPercent) {
  EXPECT_EQ(Backoff::jittered(Duration(1000), 0.0), Duration(800));
  EXPECT_EQ(Backoff::jittered(Duration(1000), 0.5), Duration(1000));
  EXPECT_LE(Backoff::jittered(Duration(1000), 0.999999), Duration(1200));
  EXPECT_GE(Backoff::jittered(Duration(1000), 0.999999), Duration(1199));
}

TEST(RestartLimiter, AllowsExactlyTheLimitWithinTheWindow) {
  RestartLimiter limiter(4, Duration(60000));
  const TimePoint start{seconds(100)};
  for (int crash = 1; crash <= 4; ++crash) {
    EXPECT_FALSE(limiter.record_and_exceeded(start + seconds(crash))) << crash;
  }
  EXPECT_TRUE(limiter.record_and_exceeded(start + seconds(5)));
}

TEST(RestartLimiter, ForgetsCrashesOutsideTheWindow) {
  RestartLimiter limiter(2, Duration(10000));
  const TimePoint start{seconds(100)};
  EXPECT_FALSE(limiter.record_and_exceeded(start));
  EXPECT_FALSE(limiter.record_and_exceeded(start + seconds(1)));
  EXPECT_FALSE(limiter.record_and_exceeded(start + seconds(20)));
  EXPECT_EQ(limiter.count(), 1);
}

}  // namespace
}  // namespace visor
