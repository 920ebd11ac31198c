#include "visor/upgrade/hook_runner.h"

#include "visor/common/command_line.h"
#include "visor/common/log.h"

extern char** environ;

namespace visor {

Result<SpawnOptions> hook_spawn(const HookContext& context,
                                const std::vector<std::string>& environment) {
  auto words = split_command_line(context.command);
  if (!words) return Result<SpawnOptions>::failure("--" + context.which + ": " + words.error());
  if (words->empty())
    return Result<SpawnOptions>::failure("--" + context.which + ": empty command");
  auto path = resolve_executable(words->front());
  if (!path) return Result<SpawnOptions>::failure("--" + context.which + ": " + path.error());
  const std::string height = context.target.height ? std::to_string(*context.target.height) : "";
  SpawnOptions spawn;
  spawn.path = path.value();
  spawn.argv = words.value();
  // As Cosmovisor passes them to its custom pre-upgrade script: plan name, then height.
  spawn.argv.push_back(context.target.plan);
  spawn.argv.push_back(height);
  spawn.new_process_group = false;
  spawn.working_directory = context.home;
  spawn.environment = environment;
  spawn.environment.push_back("VISOR_UPGRADE_FROM=" + context.target.from_version);
  spawn.environment.push_back("VISOR_UPGRADE_VERSION=" + context.target.version);
  spawn.environment.push_back("VISOR_UPGRADE_HEIGHT=" + height);
  spawn.environment.push_back("VISOR_UPGRADE_PLAN=" + context.target.plan);
  return spawn;
}

void run_hook(Worker& worker, const HookContext& context, std::function<void(bool ok)> done) {
  std::vector<std::string> environment;
  for (char** entry = environ; *entry; ++entry) environment.emplace_back(*entry);
  auto spawn = hook_spawn(context, environment);
  if (!spawn) {
    log::error("hook_failed", spawn.error());
    done(false);
    return;
  }
  log::info("hook_started", "running the --" + context.which + " hook",
            {{"version", context.target.version}, {"plan", context.target.plan}});
  worker.run(
      [spawn = spawn.value()]() -> Result<ExitStatus> {
        auto pid = ProcessTable::instance().spawn(spawn);
        if (!pid) return Result<ExitStatus>::failure(pid.error());
        auto status = ProcessTable::instance().wait(pid.value(), Duration(10 * 60 * 1000));
        if (!status) return Result<ExitStatus>::failure("did not finish within 10 minutes");
        return *status;
      },
      [which = context.which, done = std::move(done)](const Result<ExitStatus>& result) {
        if (!result) {
          log::error("hook_failed", "--" + which + ": " + result.error());
          done(false);
          return;
        }
        const bool ok = result->exited() && result->code() == 0;
        if (ok) {
          log::info("hook_finished", "the --" + which + " hook succeeded");
        } else {
          log::error("hook_failed", "the --" + which + " hook ended with " + result->describe());
        }
        done(ok);
      });
}

}  // namespace visor
