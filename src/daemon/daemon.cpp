#include "visor/daemon/daemon.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <filesystem>

#include "visor/cli/cli.h"
#include "visor/common/log.h"
#include "visor/ops/operations.h"
#include "visor/process/process_table.h"
#include "visor/process/supervisor.h"
#include "visor/store/home_lock.h"

namespace visor {

int run_daemon(const Options& options) {
  log::setup(options.log_format, options.log_level);

  auto executable = resolve_executable(options.command.front());
  if (!executable) {
    log::error("config_error", executable.error());
    return kExitConfiguration;
  }

  std::error_code error;
  std::filesystem::create_directories(options.home, error);
  if (error) {
    log::error("home_error", "cannot create home " + options.home + ": " + error.message());
    return kExitFailure;
  }
  auto lock = HomeLock::acquire(options.home);
  if (!lock) {
    log::error("home_locked", lock.error());
    return kExitFailure;
  }

  // Orphans of the child are reparented to visor, which reaps them (PID 1 gets them anyway).
  if (::getpid() != 1 && ::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    log::warn("subreaper", "prctl(PR_SET_CHILD_SUBREAPER): " + errno_text(errno));
  }
  // A closed socket or pipe must be an error return, not the death of the supervisor.
  ::signal(SIGPIPE, SIG_IGN);

  boost::asio::io_context io;
  SupervisorHooks hooks;
  const std::string path = executable.value();
  hooks.prepare_spawn = [&](bool) {
    SpawnOptions spawn;
    spawn.path = path;
    spawn.argv = options.command;
    return spawn;
  };
  // Operations (systemd notify, /healthz /readyz /metrics) read this status on the io thread.
  LiveStatus status;
  status.binary = binary_name(options);
  status.source = to_string(options.source);
  status.started_unixtime =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  Operations operations(io, options, status);
  if (const Status started = operations.start(); !started) {
    log::error("operations_failed", started.error());
    return kExitFailure;
  }
  const Supervisor* supervised = nullptr;  // set below, before any hook can run
  hooks.on_state_change = [&](LifecycleState state, pid_t child) {
    status.state = to_string(state);
    status.child_pid = child;
    status.child_up =
        child != 0 && (state == LifecycleState::running || state == LifecycleState::probation);
    if (supervised) {
      status.child_restarts_total = static_cast<std::uint64_t>(supervised->lifecycle().restarts());
    }
    status.orphans_reaped_total = ProcessTable::instance().orphans_reaped();
    operations.status_changed();
  };
  hooks.on_exit = [&](int, const std::string&) { operations.stopping(); };
  Supervisor supervisor(io, options, std::move(hooks));
  supervised = &supervisor;
  log::info("visor_started", "visor " VISOR_VERSION " supervising " + options.command.front(),
            {{"home", options.home}, {"pid", std::to_string(::getpid())}});
  supervisor.start();
  io.run();
  return supervisor.exit_code();
}

}  // namespace visor
