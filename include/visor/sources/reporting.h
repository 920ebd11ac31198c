// How sources keep their reports useful: a decision is delivered once per change, and the same
// error line is repeated at most once per interval while it persists.
#pragma once

#include <optional>
#include <string>

#include "visor/common/clock.h"
#include "visor/sources/source.h"

namespace visor {

/// Remembers the last delivered decision.
class DecisionLatch {
 public:
  /// True when `decision` differs from the last one offered (same_action), or is the first;
  /// it then becomes the last one.
  bool offer(const UpgradeDecision& decision);
  /// The last delivered decision, if any.
  const std::optional<UpgradeDecision>& last() const { return last_; }

 private:
  std::optional<UpgradeDecision> last_;
};

/// Lets an error line through when it differs from the previous one, or when `repeat_after`
/// has passed since the same line was last let through.
class ErrorThrottle {
 public:
  explicit ErrorThrottle(Duration repeat_after = Duration(60000)) : repeat_after_(repeat_after) {}
  /// True when `line` should be reported now.
  bool admit(const std::string& line, TimePoint now);
  /// Forgets the previous line (after a success), so the next failure is reported at once.
  void clear() { last_line_.reset(); }

 private:
  Duration repeat_after_;
  std::optional<std::string> last_line_;
  TimePoint last_time_{};
};

}  // namespace visor
