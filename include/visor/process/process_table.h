// Spawning child processes and the single owner of waitpid().
//
// waitpid() is process-wide: whoever calls waitpid(-1) takes every child's status. As PID 1 or
// a subreaper visor must reap orphans it never spawned, without ever losing the main child's
// status or a version probe's. So every spawn goes through this table, and only reap() calls
// waitpid(-1); it hands each status to whoever registered that pid.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "visor/common/clock.h"
#include "visor/common/result.h"

namespace visor {

/// How a process ended, as waitpid() reported it.
struct ExitStatus {
  int raw = 0;
  bool exited() const;        ///< ended by exit()
  bool signaled() const;      ///< killed by a signal
  int code() const;           ///< exit code (when exited())
  int signal_number() const;  ///< the signal (when signaled())
  /// Shell convention: the exit code, or 128 + signal.
  int shell_code() const;
  /// "exit code 7" or "signal KILL".
  std::string describe() const;
};

/// What to run and with which descriptors.
struct SpawnOptions {
  std::string path;               ///< the file executed (no PATH search, no shell)
  std::vector<std::string> argv;  ///< argv[0] included
  int stdin_fd = -1;              ///< -1: inherit visor's
  int stdout_fd = -1;
  int stderr_fd = -1;
  bool new_process_group = true;         ///< so that a stop can kill the child's whole group
  std::vector<std::string> environment;  ///< "NAME=value" entries; empty: inherit visor's
  std::string working_directory;         ///< empty: visor's own
};

/// The registry of spawned processes; one per visor process (waitpid is process-wide).
class ProcessTable {
 public:
  using ExitCallback = std::function<void(pid_t, ExitStatus)>;

  /// The process-wide table.
  static ProcessTable& instance();

  /// Forks and execs. `on_exit` (may be empty) runs from reap() on the reaping thread.
  /// An exec failure is reported as an error naming the file and errno; the failed process
  /// is reaped here. `exec_errno`, when given, receives errno of a failed exec (0 otherwise).
  Result<pid_t> spawn(const SpawnOptions& options, ExitCallback on_exit = {},
                      int* exec_errno = nullptr);

  /// Waits for `pid` (spawned here) to end, at most `timeout`; nullopt on timeout.
  /// Works both with and without an active reaper.
  std::optional<ExitStatus> wait(pid_t pid, Duration timeout);

  /// Reaps every child that has ended. Registered pids get their callback or waiter;
  /// any other pid is an orphan. Returns the number of orphans reaped by this call.
  int reap();

  /// While active, only reap() calls waitpid and wait() blocks on its results.
  void set_reaper_active(bool active);

  /// Orphans reaped since start.
  std::uint64_t orphans_reaped() const;

 private:
  struct Entry {
    ExitCallback on_exit;
    std::optional<ExitStatus> status;
  };
  ProcessTable() = default;

  mutable std::mutex mutex_;
  std::condition_variable exited_;
  std::map<pid_t, Entry> entries_;
  bool reaper_active_ = false;
  std::uint64_t orphans_ = 0;
};

/// Resolves a command name like a shell would without running one: a name with a slash is
/// taken as given, anything else is looked up in $PATH. Errors name the command.
Result<std::string> resolve_executable(const std::string& command);

}  // namespace visor
