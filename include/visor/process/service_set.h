// The policy of a service set: several named children (a Vega core and its data node, several
// Lava providers) supervised as one, as an explicit table of set states x events.
//
// Like Lifecycle it decides and does nothing itself. Each child has its own restart record
// (restart policy, backoff, restart budget: RestartRecord); the set's policy sits on top:
//   - independent: each child restarts on its own record; a child its policy does not restart
//     leaves the others running;
//   - together: an unplanned exit of one child stops the others, and the set restarts together
//     on one record (Vega Visor's rule).
// Children start in list order; a planned stop (TERM/INT, an upgrade, a rollback, a restart of
// the set) goes in reverse order, one child at a time, each exited (or killed after the stop
// timeout) before the next is signalled. An upgrade stops the whole set, switches once and starts
// every child on the new version; it passes only when every child stayed up (and printed its
// ready pattern), else the whole set rolls back. The table is drawn in docs/design.md.
//
// Every timer of the set is folded into one deadline (the earliest): the driver arms one timer
// and reports a `deadline` event, which handles everything that is due.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "visor/common/clock.h"
#include "visor/config/options.h"
#include "visor/process/backoff.h"
#include "visor/process/lifecycle.h"
#include "visor/process/process_table.h"

namespace visor {

/// What the set as a whole is doing.
enum class SetState {
  starting,   ///< children are being started in list order
  running,    ///< every child is under its restart policy
  stopping,   ///< a planned stop in reverse order; what follows depends on its purpose
  backoff,    ///< together: every child is down and the set waits to restart
  probation,  ///< a new version runs in every child; it must stay up until the deadline
  exited,     ///< visor is done
};

/// What one child is doing.
enum class ChildState {
  idle,      ///< not started yet, or stopped by the set (to be started again)
  starting,  ///< a spawn was asked for; the driver reports spawned or spawn_failed
  running,   ///< the child runs
  backoff,   ///< independent: the child crashed and waits for its own restart
  stopping,  ///< the child got the stop signal; the next one waits for its exit
  exited,    ///< the child ended and its restart policy does not restart it
};

/// Why a child is spawned: the driver adds upgrade arguments for `upgrade`, and (profile vega)
/// starts the core from the data node's latest history segment on `restart` and `rollback`.
enum class SpawnReason { first_start, restart, upgrade, rollback };

/// Everything that can happen to the set.
struct SetEvent {
  enum class Kind {
    start,              ///< begin supervising
    spawned,            ///< child `child` runs
    spawn_failed,       ///< exec of child `child` failed; `status` carries 126/127
    child_exited,       ///< child `child` ended with `status`
    deadline,           ///< the armed deadline passed
    stop_requested,     ///< TERM or INT reached visor; `signal_number` goes to each child
    forward_signal,     ///< HUP, QUIT, USR1 or USR2 reached visor: pass it to every child
    upgrade_requested,  ///< a verified version is ready; switch the set to it
    ready_seen,         ///< child `child` printed its ready pattern
  };
  Kind kind;
  std::size_t child = 0;
  ExitStatus status{};
  int signal_number = 0;
};

/// What the driver must do, in order.
struct SetAction {
  enum class Kind {
    spawn,              ///< start child `child` from `current` (see `spawn_reason`)
    signal_child,       ///< send signal `value` to child `child`
    kill_group,         ///< SIGKILL child `child`'s whole process group
    switch_to_upgrade,  ///< point `current` at the requested version (once for the set)
    roll_back,          ///< mark the new version failed (`reason`) and point `current` back
    commit_upgrade,     ///< the new version passed probation in every child
    all_started,        ///< every child has been started (READY=1 the first time)
    exit,               ///< visor exits with code `value`; `reason` says why
  };
  Kind kind;
  std::size_t child = 0;
  int value = 0;
  SpawnReason spawn_reason = SpawnReason::first_start;
  std::string reason;
};

/// One child as the set policy knows it.
struct SetChildPolicy {
  std::string name;
  bool require_ready = false;  ///< the child has a ready pattern
};

/// The policy of the whole set: the per-child restart settings, shared by every child.
struct SetPolicy {
  GroupPolicy group = GroupPolicy::independent;
  LifecyclePolicy restart;  ///< restart policy, backoff, budget, healthy-after, stop settings
  std::vector<SetChildPolicy> children;

  static SetPolicy from(const Options& options);
};

/// The restart record of one child (independent) or of the whole set (together): what an
/// unplanned exit leads to under the restart policy, the backoff and the restart budget.
class RestartRecord {
 public:
  explicit RestartRecord(const LifecyclePolicy& policy);

  enum class Verdict {
    not_restarted,  ///< the restart policy does not restart this exit
    give_up,        ///< the budget is exhausted
    restart,        ///< restart after delay()
  };
  /// Records an unplanned exit at `now`; `random01` chooses the jitter.
  Verdict record(const ExitStatus& status, TimePoint now, double random01);
  /// Ran healthy: the next crash starts the backoff afresh.
  void healthy() { consecutive_failures_ = 0; }
  /// The delay chosen by the last `restart` verdict.
  Duration delay() const { return delay_; }
  /// Restarts after a crash so far.
  int restarts() const { return restarts_; }
  /// Crashes inside the window as of the last record.
  int crashes_in_window() const { return limiter_.count(); }

 private:
  LifecyclePolicy policy_;
  Backoff backoff_;
  RestartLimiter limiter_;
  int consecutive_failures_ = 0;
  int restarts_ = 0;
  Duration delay_{0};
};

class ServiceSet {
 public:
  /// `random01` yields uniform numbers in [0, 1) for the jitter; `clock` is the time source.
  ServiceSet(SetPolicy policy, const Clock& clock, std::function<double()> random01);

  /// Applies one event; returns the actions to carry out, in order.
  std::vector<SetAction> handle(const SetEvent& event);

  SetState state() const { return state_; }
  ChildState child_state(std::size_t child) const { return children_.at(child).state; }
  std::size_t size() const { return children_.size(); }
  /// When the driver must report a `deadline` event; nullopt when none is armed.
  std::optional<TimePoint> deadline() const;
  /// Restarts after a crash of child `child` (together: restarts of the set, counted for each).
  int restarts(std::size_t child) const;
  /// True while every child runs (for /healthz).
  bool all_running() const;
  /// True while child `child` is on probation and has yet to print its ready pattern.
  bool awaiting_ready(std::size_t child) const;

 private:
  enum class StopPurpose { exit, upgrade, roll_back, restart, give_up };

  struct Child {
    Child(SetChildPolicy child_policy, const LifecyclePolicy& restart)
        : policy(std::move(child_policy)), record(restart) {}
    SetChildPolicy policy;
    RestartRecord record;
    ChildState state = ChildState::idle;
    std::optional<TimePoint> deadline;  ///< backoff end or healthy-after mark
    bool ready_seen = false;
    bool ever_exited = false;
    ExitStatus last_status{};
  };

  std::vector<SetAction> start_from(std::size_t first, SpawnReason reason);
  std::vector<SetAction> spawn_child(std::size_t child, SpawnReason reason);
  std::vector<SetAction> on_spawned(std::size_t child);
  std::vector<SetAction> continue_start(std::size_t after);
  std::vector<SetAction> on_unplanned_exit(std::size_t child, const ExitStatus& status);
  std::vector<SetAction> begin_stop(StopPurpose purpose, int signal_number, std::string reason);
  std::vector<SetAction> stop_next();
  std::vector<SetAction> after_stop();
  std::vector<SetAction> on_stopping_child_gone(std::size_t child, const ExitStatus& status);
  std::vector<SetAction> on_deadline();
  std::vector<SetAction> forward(int signal_number) const;
  std::vector<SetAction> exit_with_first_status(const std::string& reason, int fallback);
  bool any_alive() const;

  SetPolicy policy_;
  const Clock& clock_;
  std::function<double()> random01_;
  std::vector<Child> children_;
  RestartRecord set_record_;  ///< together: the one record of the set
  SetState state_ = SetState::starting;
  std::optional<TimePoint> set_deadline_;  ///< stop timeout, set backoff, probation, healthy
  StopPurpose stop_purpose_ = StopPurpose::exit;
  int stop_signal_ = 15;
  std::string stop_reason_;
  std::optional<std::size_t> stopping_;  ///< the child signalled and awaited now
  SpawnReason starting_reason_ = SpawnReason::first_start;
  bool upgrade_start_ = false;  ///< the set being started runs a new version
  int exit_code_ = 0;           ///< for give_up
};

/// The argv child `index` of the set starts with: its command with command[0] replaced by
/// `binary_path` (the store's copy), then, on an `upgrade` start, its upgrade arguments
/// (upgrade_args_for: its own, else the set's; none for a Vega data node by default) with
/// `{version}` and `{height}` filled in (`height` empty when unknown), then `extra` (e.g. the
/// core's snapshot flag from the data node's history segment).
std::vector<std::string> child_argv(const Options& options, std::size_t index, SpawnReason reason,
                                    const std::string& binary_path, const std::string& version,
                                    const std::string& height,
                                    const std::vector<std::string>& extra = {});

const char* to_string(SetState state);
const char* to_string(ChildState state);

}  // namespace visor
