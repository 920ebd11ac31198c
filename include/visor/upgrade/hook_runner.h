// The --pre-upgrade and --post-upgrade hooks: run without a shell, in the home, with the
// upgrade's context in their environment and as their two last arguments.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "visor/common/result.h"
#include "visor/common/worker.h"
#include "visor/process/process_table.h"
#include "visor/upgrade/upgrade_planner.h"

namespace visor {

/// The upgrade a hook runs for.
struct HookContext {
  std::string which;     ///< "pre-upgrade" or "post-upgrade", for messages
  std::string command;   ///< the option's value, split like --cmd
  std::string home;      ///< the working directory
  UpgradeTarget target;  ///< from_version, version, plan and height are passed on
};

/// The spawn of a hook: argv is the command's words plus the plan and the height (empty strings
/// when unknown), the environment is `environment` plus VISOR_UPGRADE_FROM, _VERSION, _HEIGHT
/// and _PLAN, and the working directory is the home. An error names the option and the cause.
Result<SpawnOptions> hook_spawn(const HookContext& context,
                                const std::vector<std::string>& environment);

/// Runs the hook on `worker` (at most 10 minutes) and calls `done` on the main thread with
/// true when it exited 0. Every outcome is logged in one line.
void run_hook(Worker& worker, const HookContext& context, std::function<void(bool ok)> done);

}  // namespace visor
