#include "visor/sources/source.h"

namespace visor {

bool same_action(const UpgradeDecision& left, const UpgradeDecision& right) {
  return left.target == right.target && left.activate == right.activate &&
         left.halted == right.halted && left.fallbacks == right.fallbacks &&
         left.height == right.height && left.url == right.url && left.sha256 == right.sha256 &&
         left.plan == right.plan;
}

}  // namespace visor
