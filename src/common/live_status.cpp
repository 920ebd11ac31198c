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

std::optional<LiveState> parse_live_state(std::string_view text) {
  for (const LiveState state : kLiveStates) {
    if (text == to_string(state)) return state;
  }
  return std::nullopt;
}

}  // namespace visor
