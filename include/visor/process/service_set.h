// The policy of a service set: several named children (a Vega core and its data node, several
// Lava providers) supervised as one, sitting on one Lifecycle per child.
//
// Like Lifecycle it decides and does nothing itself. Each child keeps its own Lifecycle (restart
// policy, backoff, restart budget, stop timeout, probation, ready pattern); the set routes every
// event of a child to that child's Lifecycle, reads what it decided, and adds the set's rules:
//   - start in list order (each child spawned before the next), a planned stop (TERM/INT, a hold
//     for an upgrade, a rollback, a restart of the set) in reverse order, one child at a time;
//   - independent: each child restarts on its own; a child its policy does not restart leaves
//     the others running; a child that exhausts its budget stops the others (exit 1);
//   - together: an unplanned exit stops the others and the set restarts together, on one backoff
//     and one budget (Vega Visor's rule);
//   - one upgrade for the set: hold stops every child, the switch starts every child on the new
//     version, the set passes when every child passed, and a failure in one child rolls back the
//     set; the upgrade manager hears one outcome per request, as from a single child.
// With one child the set passes every event through to its Lifecycle and every decision back:
// `--cmd` behaves exactly as the Lifecycle table in docs/design.md says.
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

/// Why a child is spawned: the driver adds upgrade arguments for `upgrade`, and (profile vega)
/// starts the core from the data node's latest history segment on `restart` and `rollback`.
enum class SpawnReason { first_start, restart, upgrade, rollback };

/// Everything that can happen to the set: a LifecycleEvent, for child `child` when it is about
/// one child (spawned, spawn_failed, child_exited, ready_seen).
struct SetEvent {
  LifecycleEvent event;
  std::size_t child = 0;
};

/// What the driver must do: a LifecycleAction, for child `child` when it is about one child
/// (spawn, signal_child, kill_group); report and exit are the set's.
struct SetAction {
  LifecycleAction action;
  std::size_t child = 0;
  SpawnReason reason = SpawnReason::first_start;  ///< with spawn
};

/// The policy of the whole set.
struct SetPolicy {
  GroupPolicy group = GroupPolicy::independent;
  std::vector<std::string> names;           ///< the children, in list order
  std::vector<LifecyclePolicy> lifecycles;  ///< one per child (their ready patterns differ)

  static SetPolicy from(const Options& options);
};

class ServiceSet {
 public:
  /// `random01` yields uniform numbers in [0, 1) for the jitter; `clock` is the time source.
  ServiceSet(SetPolicy policy, const Clock& clock, std::function<double()> random01);

  /// Applies one event; returns the actions to carry out, in order.
  std::vector<SetAction> handle(const SetEvent& event);

  /// The set's state in the Lifecycle's words (for status, health and STATUS=): with one child,
  /// exactly that child's; with several, what the set as a whole is doing.
  LifecycleState state() const;
  std::size_t size() const { return children_.size(); }
  const std::string& name(std::size_t child) const { return policy_.names.at(child); }
  LifecycleState child_state(std::size_t child) const { return children_.at(child).state(); }
  /// When the driver must report a `deadline` event; nullopt when none is armed.
  std::optional<TimePoint> deadline() const;
  /// Restarts after a crash of child `child` (together: restarts of the set).
  int restarts(std::size_t child) const;
  /// The delay before child `child` restarts (valid while it is in backoff).
  Duration restart_delay(std::size_t child) const;
  /// True while child `child` is a new version on probation that has yet to print its ready
  /// pattern: the only time its output needs scanning.
  bool awaiting_ready(std::size_t child) const { return children_.at(child).awaiting_ready(); }

 private:
  enum class Phase {
    running,    ///< every child under its own Lifecycle
    probation,  ///< a new version runs; the set passes when every child passed
    holding,    ///< children are being stopped and held, last first, for `purpose_`
    held,       ///< every child is held: the upgrade manager says what starts next
    backoff,    ///< together: every child is held until the set restarts
    stopping,   ///< visor is stopping: children stop last first, then visor exits
    exited,
  };
  /// Why the set is being held.
  enum class Purpose { upgrade, halt, roll_back, restart };

  using Actions = std::vector<SetAction>;

  void to_child_into(std::size_t child, const LifecycleEvent& event, Actions& out);
  void absorb(std::size_t child, const std::vector<LifecycleAction>& decided, Actions& out);
  void on_report(std::size_t child, const LifecycleAction& action, Actions& out);
  void on_child_end(std::size_t child, const LifecycleAction& action, Actions& out);
  void after_child_event(std::size_t child, Actions& out);
  void begin_start(LifecycleEvent event, SpawnReason reason, Actions& out);
  void advance_start(Actions& out);
  void pass_if_every_child_passed(Actions& out);
  void begin_hold(Purpose purpose, Actions& out);
  void advance_hold(Actions& out);
  void finish_hold(Actions& out);
  void begin_stop(int signal_number, Actions& out);
  void advance_stop(Actions& out);
  void report(SwitchOutcome outcome, std::string reason, Actions& out);
  void exit(int code, std::string reason, Actions& out);
  Actions on_deadline();
  std::string who(std::size_t child) const;
  bool any_alive() const;

  SetPolicy policy_;
  const Clock& clock_;
  std::function<double()> random01_;
  std::vector<Lifecycle> children_;
  RestartRecord set_record_;  ///< together: the one record of the set
  Phase phase_ = Phase::running;
  Purpose purpose_ = Purpose::upgrade;
  std::string rollback_reason_;
  std::optional<TimePoint> set_deadline_;  ///< together: the set's backoff or healthy mark

  LifecycleEvent start_event_{LifecycleEvent::Kind::start};
  SpawnReason start_reason_ = SpawnReason::first_start;
  std::vector<std::size_t> start_queue_;  ///< children still to start, next first
  std::optional<std::size_t> starting_;   ///< the child whose spawn result is awaited
  std::vector<bool> pending_pass_;        ///< probation: children that have not passed yet

  /// Children stopped one at a time, last in the list first: for a hold and for visor's stop.
  struct InTurn {
    std::vector<std::size_t> queue;    ///< children still to ask, next first
    std::optional<std::size_t> asked;  ///< the child whose end is awaited
    void last_first(std::size_t count);
    void clear() { queue.clear(), asked.reset(); }
    bool is_asked(std::size_t child) const { return asked && *asked == child; }
    bool finished() const { return !asked && queue.empty(); }
  };
  /// Sends `request` to the children of `turn` one at a time, the next once the one asked
  /// reached `ended` (or had already); stops early when the set leaves `phase` meanwhile.
  void ask_in_turn(InTurn& turn, const LifecycleEvent& request, bool (*ended)(LifecycleState),
                   Phase phase, Actions& out);

  InTurn hold_turn_;  ///< the children stopped for a hold

  int stop_signal_ = 15;
  InTurn stop_turn_;                            ///< the children stopped for visor's stop
  std::vector<std::optional<int>> exit_codes_;  ///< each child's code when its Lifecycle ended
  std::string first_reason_;                    ///< why child 0 ended
  std::optional<std::pair<int, std::string>> forced_exit_;  ///< giving up: exit 1, and why
};

/// Upgrade arguments (a child's own `upgrade-args`, else the set's: upgrade_args_for) with
/// `{version}` and `{height}` filled in; `height` is empty when unknown.
std::vector<std::string> fill_upgrade_args(const std::vector<std::string>& words,
                                           const std::string& version, const std::string& height);

}  // namespace visor
