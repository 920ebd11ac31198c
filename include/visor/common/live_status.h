// What visor knows about itself right now: read by /healthz, /readyz, /metrics, `visor status`
// and systemd's STATUS= line. Owned and written by the daemon on the main io_context thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "visor/common/network_view.h"

namespace visor {

/// What visor is doing with the child, as operations see it: one value per lifecycle state
/// (docs/design.md). The daemon maps the lifecycle onto it in one place; its name is written
/// only at the edges (status.json, /healthz, STATUS=, /metrics labels).
enum class LiveState {
  starting,      ///< a start was asked for
  running,       ///< the child runs
  backoff,       ///< the child crashed; a restart is due
  stopping,      ///< visor is stopping the child and then exits
  upgrading,     ///< the old child was asked to stop for an upgrade
  held,          ///< no child runs, for an upgrade
  probation,     ///< a new version runs and must stay up for --healthy-after
  rolling_back,  ///< a new version failed its probation and is being stopped
  exited,        ///< visor is done
};

/// Every LiveState, in declaration order (e.g. for one /metrics sample each).
inline constexpr LiveState kLiveStates[] = {
    LiveState::starting,  LiveState::running,      LiveState::backoff,
    LiveState::stopping,  LiveState::upgrading,    LiveState::held,
    LiveState::probation, LiveState::rolling_back, LiveState::exited,
};

/// Lower-case name, as status.json and /healthz write it ("running", "rolling_back" ...).
const char* to_string(LiveState state);
/// The LiveState a name written by to_string() stands for; nullopt for any other text.
std::optional<LiveState> parse_live_state(std::string_view text);

/// What the upgrade logic is doing, as operations see it: one value per stage of the upgrade
/// planner (src/upgrade/upgrade_planner.h, docs/design.md), which common/ cannot include. The
/// upgrade manager maps the planner's stage onto it in one place (live_stage()); its name is
/// written only at the edges (status.json, /healthz, STATUS=).
enum class LiveUpgradeStage {
  idle,            ///< nothing to do
  staging,         ///< a version is being fetched and verified
  staged,          ///< the wanted version is staged; the network does not ask for it yet
  retrying,        ///< something failed; a retry is armed and the old version keeps running
  halted_waiting,  ///< the network halted and the new binary (or its hook) is not ready yet
  stopping,        ///< the child is being stopped for the switch
  hook,            ///< the pre-upgrade hook runs; the child is stopped
  probation,       ///< the new version runs and must stay up for --healthy-after
};

/// Every LiveUpgradeStage, in declaration order.
inline constexpr LiveUpgradeStage kLiveUpgradeStages[] = {
    LiveUpgradeStage::idle,     LiveUpgradeStage::staging,        LiveUpgradeStage::staged,
    LiveUpgradeStage::retrying, LiveUpgradeStage::halted_waiting, LiveUpgradeStage::stopping,
    LiveUpgradeStage::hook,     LiveUpgradeStage::probation,
};

/// Lower-case name, as status.json and /healthz write it ("idle", "halted_waiting" ...).
const char* to_string(LiveUpgradeStage stage);

/// One child of a service set as operations see it (metrics, health, status, STATUS=).
struct ChildStatus {
  std::string name;                       ///< the child's name in the set, e.g. "core"
  LiveState state = LiveState::starting;  ///< the child's own lifecycle state
  pid_t pid = 0;
  bool up = false;
  std::uint64_t restarts = 0;   ///< restarts after a crash, since visor started
  double started_unixtime = 0;  ///< when the running process started; 0 when none runs
  std::string version;          ///< the version it runs; empty when unknown
};

struct LiveStatus {
  /// The lifecycle state, as operations see it.
  LiveState state = LiveState::starting;
  std::string binary;           ///< the managed binary's name, e.g. "lavap"
  std::string current_version;  ///< empty when unknown
  pid_t child_pid = 0;
  bool child_up = false;
  /// True from the moment a switch begins (the old child is stopped) until the new version has
  /// passed probation or was rolled back; a download or pre-staging alone does not set it, so
  /// /readyz stays 200 while the old version keeps serving.
  bool upgrade_in_progress = false;
  std::string upgrade_target;  ///< version being downloaded or switched to
  int download_percent = -1;   ///< -1 when unknown or idle
  /// The upgrade planner's stage (docs/design.md).
  LiveUpgradeStage upgrade_stage = LiveUpgradeStage::idle;
  std::string last_error;  ///< the last failure visor reported (one line)
  std::string source;      ///< "lava", "vega", "cosmos", "none"
  NetworkView network;     ///< with --node: chain id, height, scheduled plan
  /// The version the scheduled plan maps to (plan name, add-upgrade --plan, a staged download),
  /// and whether it is in the store.
  std::string plan_version;
  bool plan_staged = false;

  std::uint64_t child_restarts_total = 0;
  std::map<std::string, std::uint64_t> upgrades_total;  ///< by result: success, failed, rolled_back
  std::uint64_t source_errors_total = 0;
  std::uint64_t source_polls_total = 0;
  double source_poll_latency_seconds = 0;  ///< of the last poll
  double last_successful_poll_unixtime = 0;
  double last_poll_unixtime = 0;  ///< when the last poll finished; 0 before the first
  bool last_poll_ok = false;      ///< whether the last poll succeeded
  std::uint64_t download_bytes_total = 0;
  std::uint64_t orphans_reaped_total = 0;
  double started_unixtime = 0;

  /// The children of the set in list order; empty when only the fields above describe the
  /// one child (child_pid, child_up, child_restarts_total).
  std::vector<ChildStatus> children;
};

/// Whether every child is up: each entry of `children`, or `child_up` when that list is empty.
inline bool every_child_up(const LiveStatus& status) {
  if (status.children.empty()) return status.child_up;
  for (const auto& child : status.children) {
    if (!child.up) return false;
  }
  return true;
}

/// The first child that is not up, for messages ("child datanode is not running"); empty when
/// every child is up or the set is described by `child_up` alone.
inline std::string first_child_down(const LiveStatus& status) {
  for (const auto& child : status.children) {
    if (!child.up) return child.name;
  }
  return {};
}

}  // namespace visor
