// The time source of the supervisor: a seam so that logic with timers is tested without waiting.
#pragma once

#include <chrono>

namespace visor {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;
using Duration = std::chrono::milliseconds;

/// Wall-clock time in seconds since the Unix epoch, for timestamps shown to people and
/// Prometheus (never for measuring intervals: it jumps).
inline double unix_time_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// A monotonic clock. Everything that measures intervals uses it, never the wall clock,
/// so that clock jumps cannot break backoff or timeouts.
class Clock {
 public:
  virtual ~Clock() = default;
  /// The current monotonic time.
  virtual TimePoint now() const = 0;
};

/// The real monotonic clock.
class RealClock : public Clock {
 public:
  TimePoint now() const override { return SteadyClock::now(); }
};

/// A clock that only moves when told to; for tests.
class FakeClock : public Clock {
 public:
  TimePoint now() const override { return now_; }
  void advance(Duration by) { now_ += by; }

 private:
  TimePoint now_{std::chrono::hours(1000)};
};

}  // namespace visor
