#include "visor/process/backoff.h"

#include <algorithm>

namespace visor {

Duration Backoff::nominal(int attempt) const {
  Duration delay = initial_;
  for (int i = 1; i < attempt && delay < max_; ++i) delay *= 2;
  return std::min(delay, max_);
}

Duration Backoff::jittered(Duration nominal, double random01) {
  const double factor = 0.8 + 0.4 * std::clamp(random01, 0.0, 1.0);
  return Duration(static_cast<Duration::rep>(static_cast<double>(nominal.count()) * factor));
}

bool RestartLimiter::record_and_exceeded(TimePoint now) {
  crashes_.push_back(now);
  while (!crashes_.empty() && now - crashes_.front() > window_) crashes_.pop_front();
  return static_cast<int>(crashes_.size()) > limit_;
}

}  // namespace visor
