// Restart throttling: exponential delays with jitter, and the give-up rule.
#pragma once

#include <deque>

#include "visor/common/clock.h"

namespace visor {

/// Exponential restart delay: initial, 2x, 4x ... capped at max, each with jitter of at most
/// +-20% so that a fleet of crashing nodes does not restart in lockstep.
class Backoff {
 public:
  Backoff(Duration initial, Duration max) : initial_(initial), max_(max) {}
  /// The delay before restart number `attempt` (1 = first restart), without jitter.
  Duration nominal(int attempt) const;
  /// `nominal` scaled by a factor in [0.8, 1.2]; `random01` is uniform in [0, 1).
  static Duration jittered(Duration nominal, double random01);

 private:
  Duration initial_;
  Duration max_;
};

/// Counts crashes in a sliding window: more than `limit` within `window` means give up.
class RestartLimiter {
 public:
  RestartLimiter(int limit, Duration window) : limit_(limit), window_(window) {}
  /// Records a crash at `now`; true when this crash exceeds the limit.
  bool record_and_exceeded(TimePoint now);
  /// Crashes inside the window as of the last record.
  int count() const { return static_cast<int>(crashes_.size()); }

 private:
  int limit_;
  Duration window_;
  std::deque<TimePoint> crashes_;
};

}  // namespace visor
