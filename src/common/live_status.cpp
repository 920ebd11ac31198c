#include "visor/common/live_status.h"

namespace visor {

const char* to_string(LiveState state) {
  switch (state) {
    case LiveState::starting:
      return "starting";
    case LiveState::running:
      return "running";
    case LiveState::backoff:
      return "backoff";
    case LiveState::stopping:
      return "stopping";
    case LiveState::upgrading:
      return "upgrading";
    case LiveState::held:
      return "held";
    case LiveState::probation:
      return "probation";
    case LiveState::rolling_back:
      return "rolling_back";
    case LiveState::exited:
      return "exited";
  }
  return "unknown";
}

const char* to_string(LiveUpgradeStage stage) {
  switch (stage) {
    case LiveUpgradeStage::idle:
      return "idle";
    case LiveUpgradeStage::staging:
      return "staging";
    case LiveUpgradeStage::staged:
      return "staged";
    case LiveUpgradeStage::retrying:
      return "retrying";
    case LiveUpgradeStage::halted_waiting:
      return "halted_waiting";
    case LiveUpgradeStage::stopping:
      return "stopping";
    case LiveUpgradeStage::hook:
      return "hook";
    case LiveUpgradeStage::probation:
      return "probation";
  }
  return "unknown";
}

std::optional<LiveState> parse_live_state(std::string_view text) {
  for (const LiveState state : kLiveStates) {
    if (text == to_string(state)) return state;
  }
  return std::nullopt;
}

}  // namespace visor
