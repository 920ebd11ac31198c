// The supervision lifecycle as an explicit table of states x events (s6-style).
//
// This class decides; it does nothing itself. Each event yields the actions the Supervisor
// carries out (spawn, signal, report an upgrade outcome, exit) and at most one deadline, which
// the Supervisor arms as a timer and reports back as a `deadline` event. Switching binaries is
// not its business: it stops and holds the child when asked (or when the network halted), starts
// the new version when told, and reports one outcome per request. The table is drawn in
// docs/design.md; every pair is handled on purpose.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "visor/common/clock.h"
#include "visor/config/options.h"
#include "visor/process/backoff.h"
#include "visor/process/process_table.h"

namespace visor {

enum class LifecycleState {
  starting,      ///< a spawn was asked for; the Supervisor reports spawned or spawn_failed
  running,       ///< the child runs; the deadline marks it healthy (backoff reset)
  backoff,       ///< the child crashed; the deadline restarts it
  stopping,      ///< visor is stopping: the child got the stop signal; then visor exits
  upgrading,     ///< the old child got the stop signal for an upgrade; when it is gone, it is held
  held,          ///< no child runs, for an upgrade: the upgrade manager says what starts next
  probation,     ///< a new version runs; it must stay up until the deadline
  rolling_back,  ///< a new version failed its probation and is being stopped
  exited,        ///< visor is done
};

/// Everything that can happen to the lifecycle.
struct LifecycleEvent {
  enum class Kind {
    start,              ///< begin supervising
    spawned,            ///< the child process runs
    spawn_failed,       ///< exec failed; `status` carries 126/127
    child_exited,       ///< the child ended with `status`
    deadline,           ///< the armed deadline passed
    stop_requested,     ///< TERM or INT reached visor; `signal_number` is forwarded
    hold_requested,     ///< stop the child for an upgrade and keep it stopped
    switch_requested,   ///< `current` points at a new version: start it on probation
    release_requested,  ///< the upgrade is off: start the current version again
    ready_seen,         ///< the child printed --ready-pattern
  };
  Kind kind;
  ExitStatus status{};
  int signal_number = 0;
  bool upgrade_start = false;  ///< with `start`: the first child is a new version (resumed switch)
  bool halted = false;  ///< with `child_exited`: the network halted for an upgrade, not a crash
};

/// What became of an upgrade request, reported upward once per request.
enum class SwitchOutcome {
  stopped,      ///< the child is stopped and held (asked for, or it exited on a halt)
  passed,       ///< the new version passed its probation (or halted for the next upgrade)
  rolled_back,  ///< the new version failed (`reason`); the child is held
  dropped,      ///< the request came when it could not be carried out (e.g. while stopping)
};

/// What the Supervisor must do.
struct LifecycleAction {
  enum class Kind {
    spawn,         ///< start the child from `current`; `upgrade_start` adds --upgrade-args
    signal_child,  ///< send `value` to the child
    kill_group,    ///< SIGKILL the child's whole process group
    report,        ///< tell the upgrade manager `outcome` (`reason` for rolled_back)
    exit,          ///< visor exits with code `value`; `reason` says why
  };
  Kind kind;
  int value = 0;
  bool upgrade_start = false;
  std::string reason;
  SwitchOutcome outcome = SwitchOutcome::dropped;
  bool gave_up = false;  ///< with exit: the restart budget is exhausted
};

/// The policy the lifecycle applies, taken from Options.
struct LifecyclePolicy {
  RestartPolicy restart = RestartPolicy::on_failure;
  Duration backoff_initial{1000};
  Duration backoff_max{60000};
  int max_restarts = 10;
  Duration restart_window{600000};
  Duration healthy_after{10000};
  Duration stop_timeout{30000};
  int stop_signal = 15;
  bool require_ready = false;  ///< --ready-pattern is set

  static LifecyclePolicy from(const Options& options);
};

/// What an unplanned exit leads to under the restart policy, the backoff and the restart budget:
/// each child's Lifecycle keeps one, and a `together` set keeps one for the set as a whole.
class RestartRecord {
 public:
  explicit RestartRecord(const LifecyclePolicy& policy);

  enum class Verdict { not_restarted, give_up, restart };
  /// Records an unplanned exit at `now`; `random01` chooses the jitter.
  Verdict record(const ExitStatus& status, TimePoint now, double random01);
  /// Ran healthy: the next crash starts the backoff afresh.
  void healthy() { consecutive_failures_ = 0; }
  Duration delay() const { return delay_; }
  int restarts() const { return restarts_; }
  int crashes_in_window() const { return limiter_.count(); }
  int consecutive_failures() const { return consecutive_failures_; }

 private:
  LifecyclePolicy policy_;
  Backoff backoff_;
  RestartLimiter limiter_;
  int consecutive_failures_ = 0;
  int restarts_ = 0;
  Duration delay_{0};
};

class Lifecycle {
 public:
  /// `random01` yields uniform numbers in [0, 1) for the jitter; `clock` is the time source.
  Lifecycle(LifecyclePolicy policy, const Clock& clock, std::function<double()> random01);

  /// Applies one event; returns the actions to carry out, in order.
  std::vector<LifecycleAction> handle(const LifecycleEvent& event);

  LifecycleState state() const { return state_; }
  /// When the Supervisor must report a `deadline` event; nullopt when none is armed.
  std::optional<TimePoint> deadline() const { return deadline_; }
  /// Consecutive crashes since the child last ran healthy.
  int consecutive_failures() const { return record_.consecutive_failures(); }
  /// Restarts after a crash since start.
  int restarts() const { return record_.restarts(); }
  /// The delay chosen for the pending restart (valid in backoff).
  Duration last_delay() const { return record_.delay(); }
  /// How the child last ended.
  const ExitStatus& last_status() const { return last_status_; }
  /// True while a new version on probation has yet to print --ready-pattern: the only time the
  /// child's output needs scanning.
  bool awaiting_ready() const {
    return policy_.require_ready && !ready_seen_ && state_ == LifecycleState::probation;
  }

 private:
  std::vector<LifecycleAction> on_child_gone(const ExitStatus& status);
  std::vector<LifecycleAction> begin_stop(LifecycleState next, int signal_number);
  std::vector<LifecycleAction> start_child(bool upgrade_start);
  std::vector<LifecycleAction> hold(std::vector<LifecycleAction> before = {});

  LifecyclePolicy policy_;
  const Clock& clock_;
  std::function<double()> random01_;
  RestartRecord record_;
  LifecycleState state_ = LifecycleState::starting;
  std::optional<TimePoint> deadline_;
  bool probation_next_ = false;  ///< the child being started is a new version
  bool ready_seen_ = false;
  TimePoint started_at_{};
  ExitStatus last_status_{};
  std::string rollback_reason_;  ///< why the child being stopped in rolling_back failed
};

/// Lower-case name of a state, as in docs/design.md ("running", "backoff" ...).
const char* to_string(LifecycleState state);

}  // namespace visor
