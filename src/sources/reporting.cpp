#include "visor/sources/reporting.h"

namespace visor {

bool DecisionLatch::offer(const UpgradeDecision& decision) {
  if (last_ && same_action(*last_, decision)) return false;
  last_ = decision;
  return true;
}

bool ErrorThrottle::admit(const std::string& line, TimePoint now) {
  if (last_line_ && *last_line_ == line && now - last_time_ < repeat_after_) return false;
  last_line_ = line;
  last_time_ = now;
  return true;
}

}  // namespace visor
