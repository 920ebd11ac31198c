#include "visor/common/deadline_timer.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>

namespace visor {
namespace {

using namespace std::chrono_literals;

// Runs `io` until it has nothing left to do (a timer that is not armed leaves nothing).
void run_all(boost::asio::io_context& io) {
  io.restart();
  io.run_for(2s);
}

TEST(DeadlineTimer, ADeadlineReportsOnceWhenItPasses) {
  boost::asio::io_context io;
  int due = 0;
  DeadlineTimer timer(io, [&due] { ++due; });
  const auto start = SteadyClock::now();
  const TimePoint deadline = start + 30ms;
  timer.arm(deadline);
  timer.arm(deadline);  // asked again: the same wait, one report
  run_all(io);
  EXPECT_EQ(due, 1);
  EXPECT_GE(SteadyClock::now(), deadline);
}

TEST(DeadlineTimer, ANewDeadlineReplacesTheArmedOneAndNulloptCancels) {
  boost::asio::io_context io;
  int due = 0;
  DeadlineTimer timer(io, [&due] { ++due; });
  timer.arm(SteadyClock::now() + 10ms);
  const TimePoint later = SteadyClock::now() + 60ms;
  timer.arm(later);
  run_all(io);
  EXPECT_EQ(due, 1);  // the replaced deadline never reported
  EXPECT_GE(SteadyClock::now(), later);

  timer.arm(SteadyClock::now() + 10ms);
  timer.cancel();
  run_all(io);
  EXPECT_EQ(due, 1);
}

TEST(DeadlineTimer, TheSameDeadlineCanBeArmedAgainAfterItReported) {
  boost::asio::io_context io;
  int due = 0;
  DeadlineTimer timer(io, [&due] { ++due; });
  const TimePoint deadline = SteadyClock::now() + 5ms;
  timer.arm(deadline);
  run_all(io);
  timer.arm(deadline);  // already passed: reports at once
  run_all(io);
  EXPECT_EQ(due, 2);
}

TEST(DeadlineTimer, NothingReportsAfterTheTimerIsGone) {
  boost::asio::io_context io;
  int due = 0;
  {
    DeadlineTimer timer(io, [&due] { ++due; });
    timer.arm(SteadyClock::now());
  }
  run_all(io);
  EXPECT_EQ(due, 0);
}

}  // namespace
}  // namespace visor
