#include "visor/process/lifecycle.h"

#include <csignal>

namespace visor {

using Kind = LifecycleEvent::Kind;
using Do = LifecycleAction::Kind;

LifecyclePolicy LifecyclePolicy::from(const Options& options) {
  LifecyclePolicy policy;
  policy.restart = options.restart;
  policy.backoff_initial = options.backoff_initial;
  policy.backoff_max = options.backoff_max;
  policy.max_restarts = options.max_restarts;
  policy.restart_window = options.restart_window;
  policy.healthy_after = options.healthy_after;
  policy.stop_timeout = options.stop_timeout;
  policy.stop_signal = options.stop_signal;
  policy.require_ready = !options.ready_pattern.empty();
  return policy;
}

RestartRecord::RestartRecord(const LifecyclePolicy& policy)
    : policy_(policy),
      backoff_(policy.backoff_initial, policy.backoff_max),
      limiter_(policy.max_restarts, policy.restart_window) {}

RestartRecord::Verdict RestartRecord::record(const ExitStatus& status, TimePoint now,
                                             double random01) {
  const bool clean = status.exited() && status.code() == 0;
  if (policy_.restart == RestartPolicy::never ||
      (policy_.restart == RestartPolicy::on_failure && clean)) {
    return Verdict::not_restarted;
  }
  if (limiter_.record_and_exceeded(now)) return Verdict::give_up;
  ++consecutive_failures_;
  ++restarts_;
  delay_ = Backoff::jittered(backoff_.nominal(consecutive_failures_), random01);
  return Verdict::restart;
}

Lifecycle::Lifecycle(LifecyclePolicy policy, const Clock& clock, std::function<double()> random01)
    : policy_(policy), clock_(clock), random01_(std::move(random01)), record_(policy_) {}

std::vector<LifecycleAction> Lifecycle::start_child(bool upgrade_start) {
  state_ = LifecycleState::starting;
  deadline_.reset();
  probation_next_ = upgrade_start;
  ready_seen_ = false;
  return {{Do::spawn, 0, upgrade_start, {}}};
}

std::vector<LifecycleAction> Lifecycle::begin_stop(LifecycleState next, int signal_number) {
  state_ = next;
  deadline_ = clock_.now() + policy_.stop_timeout;
  return {{Do::signal_child, signal_number, false, {}}};
}

// The child of a normal run is gone (crash, clean exit or failed exec): apply the restart policy.
std::vector<LifecycleAction> Lifecycle::on_child_gone(const ExitStatus& status) {
  last_status_ = status;
  deadline_.reset();
  switch (record_.record(status, clock_.now(), random01_())) {
    case RestartRecord::Verdict::not_restarted:
      state_ = LifecycleState::exited;
      return {{Do::exit, status.shell_code(), false,
               "child ended with " + status.describe() + " and --restart is " +
                   to_string(policy_.restart)}};
    case RestartRecord::Verdict::give_up: {
      state_ = LifecycleState::exited;
      LifecycleAction give_up{Do::exit, 1, false,
                              "giving up: the child ended " +
                                  std::to_string(record_.crashes_in_window()) + " times within " +
                                  std::to_string(policy_.restart_window.count() / 1000) +
                                  "s (--max-restarts " + std::to_string(policy_.max_restarts) +
                                  "); last: " + status.describe()};
      give_up.gave_up = true;
      return {give_up};
    }
    case RestartRecord::Verdict::restart:
      state_ = LifecycleState::backoff;
      deadline_ = clock_.now() + record_.delay();
      return {};
  }
  return {};
}

namespace {

LifecycleAction report(SwitchOutcome outcome, std::string reason = {}) {
  LifecycleAction action{Do::report, 0, false, std::move(reason)};
  action.outcome = outcome;
  return action;
}

}  // namespace

// The child is gone for an upgrade: nothing restarts it until the upgrade manager says so.
std::vector<LifecycleAction> Lifecycle::hold(std::vector<LifecycleAction> before) {
  state_ = LifecycleState::held;
  deadline_.reset();
  before.push_back(report(SwitchOutcome::stopped));
  return before;
}

std::vector<LifecycleAction> Lifecycle::handle(const LifecycleEvent& event) {
  using S = LifecycleState;
  switch (state_) {
    case S::starting:
      switch (event.kind) {
        case Kind::start:
          return start_child(event.upgrade_start);
        case Kind::spawned:
          started_at_ = clock_.now();
          deadline_ = started_at_ + policy_.healthy_after;
          state_ = probation_next_ ? S::probation : S::running;
          return {};
        case Kind::spawn_failed:
          if (probation_next_) {
            state_ = S::held;
            return {
                report(SwitchOutcome::rolled_back, "could not start: " + event.status.describe())};
          }
          return on_child_gone(event.status);
        case Kind::stop_requested:  // nothing runs yet
          state_ = S::exited;
          return {{Do::exit, 128 + event.signal_number, false, "stopped before the child started"}};
        case Kind::hold_requested:
          // Nothing runs yet (a spawn may still wait for its arguments, or a set has not come
          // to this child): held at once. The Supervisor spawns nothing once it left starting.
          probation_next_ = false;
          return hold();
        case Kind::switch_requested:
          return {report(SwitchOutcome::dropped)};
        case Kind::child_exited:
        case Kind::deadline:
        case Kind::release_requested:
        case Kind::ready_seen:
          return {};  // the spawn result comes first; nothing else can be pending
      }
      break;

    case S::running:
      switch (event.kind) {
        case Kind::child_exited: {
          if (event.halted) {  // the network stopped: not a crash, and no restart of the old one
            last_status_ = event.status;
            return hold();
          }
          return on_child_gone(event.status);
        }
        case Kind::deadline:  // ran long enough: the next crash starts the backoff afresh
          record_.healthy();
          deadline_.reset();
          return {};
        case Kind::stop_requested:
          return begin_stop(S::stopping, event.signal_number);
        case Kind::hold_requested:
          return begin_stop(S::upgrading, policy_.stop_signal);
        case Kind::switch_requested:  // a switch needs the child held first
          return {report(SwitchOutcome::dropped)};
        case Kind::start:
        case Kind::spawned:
        case Kind::spawn_failed:
        case Kind::release_requested:
        case Kind::ready_seen:
          return {};
      }
      break;

    case S::backoff:
      switch (event.kind) {
        case Kind::deadline:
          return start_child(false);
        case Kind::stop_requested:
          state_ = S::exited;
          deadline_.reset();
          return {{Do::exit, last_status_.shell_code(), false,
                   "stopped while waiting to restart; last child " + last_status_.describe()}};
        case Kind::hold_requested:  // the restart is called off
          return hold();
        case Kind::switch_requested:
          return {report(SwitchOutcome::dropped)};
        case Kind::start:
        case Kind::spawned:
        case Kind::spawn_failed:
        case Kind::child_exited:
        case Kind::release_requested:
        case Kind::ready_seen:
          return {};
      }
      break;

    case S::stopping:
    case S::upgrading:
    case S::rolling_back:
      switch (event.kind) {
        case Kind::child_exited: {
          last_status_ = event.status;
          if (state_ == S::stopping) {
            state_ = S::exited;
            deadline_.reset();
            return {{Do::exit, event.status.shell_code(), false,
                     "child stopped with " + event.status.describe()}};
          }
          if (state_ == S::upgrading) return hold({});
          state_ = S::held;  // rolled back: the manager points `current` back, then releases
          deadline_.reset();
          return {report(SwitchOutcome::rolled_back, rollback_reason_)};
        }
        case Kind::deadline:  // the stop signal was not enough
          deadline_.reset();
          return {{Do::kill_group, SIGKILL, false, {}}};
        case Kind::stop_requested: {
          // An upgrade or rollback in flight turns into a plain stop; the signal is passed on.
          state_ = S::stopping;
          return {{Do::signal_child, event.signal_number, false, {}}};
        }
        case Kind::hold_requested:
          if (state_ == S::stopping) return {report(SwitchOutcome::dropped)};
          return {};  // the child is being stopped and will be held anyway
        case Kind::switch_requested:
          return {report(SwitchOutcome::dropped)};
        case Kind::start:
        case Kind::spawned:
        case Kind::spawn_failed:
        case Kind::release_requested:
        case Kind::ready_seen:
          return {};
      }
      break;

    case S::held:
      switch (event.kind) {
        case Kind::switch_requested:
          return start_child(true);
        case Kind::release_requested:
          return start_child(false);
        case Kind::hold_requested:
          // Already held: the request crossed the halt exit that reported `stopped` already.
          return {};
        case Kind::stop_requested:
          state_ = S::exited;
          return {{Do::exit, 128 + event.signal_number, false,
                   "stopped while the child was held for an upgrade"}};
        case Kind::start:
        case Kind::spawned:
        case Kind::spawn_failed:
        case Kind::child_exited:
        case Kind::deadline:
        case Kind::ready_seen:
          return {};
      }
      break;

    case S::probation:
      switch (event.kind) {
        case Kind::child_exited: {
          last_status_ = event.status;
          if (event.halted) {
            // It halted for the next upgrade: the chain went past its height with it, so it
            // passed, and the next upgrade follows.
            return hold({report(SwitchOutcome::passed)});
          }
          const auto ran = std::chrono::duration_cast<Duration>(clock_.now() - started_at_);
          state_ = S::held;
          deadline_.reset();
          return {report(SwitchOutcome::rolled_back, "exited with " + event.status.describe() +
                                                         " after " + std::to_string(ran.count()) +
                                                         "ms")};
        }
        case Kind::deadline:
          if (policy_.require_ready && !ready_seen_) {
            rollback_reason_ = "never printed the --ready-pattern line";
            return begin_stop(S::rolling_back, policy_.stop_signal);
          }
          state_ = S::running;
          deadline_.reset();
          record_.healthy();
          return {report(SwitchOutcome::passed)};
        case Kind::ready_seen:
          ready_seen_ = true;
          return {};
        case Kind::stop_requested:
          return begin_stop(S::stopping, event.signal_number);
        case Kind::hold_requested: {
          // The network halted for the next upgrade while this version runs: it passed.
          auto actions = begin_stop(S::upgrading, policy_.stop_signal);
          actions.insert(actions.begin(), report(SwitchOutcome::passed));
          return actions;
        }
        case Kind::switch_requested:  // one upgrade at a time
          return {report(SwitchOutcome::dropped)};
        case Kind::start:
        case Kind::spawned:
        case Kind::spawn_failed:
        case Kind::release_requested:
          return {};
      }
      break;

    case S::exited:
      switch (event.kind) {
        case Kind::hold_requested:
        case Kind::switch_requested:
          return {report(SwitchOutcome::dropped)};
        case Kind::start:
        case Kind::spawned:
        case Kind::spawn_failed:
        case Kind::child_exited:
        case Kind::deadline:
        case Kind::stop_requested:
        case Kind::release_requested:
        case Kind::ready_seen:
          return {};
      }
      break;
  }
  return {};
}

const char* to_string(LifecycleState state) {
  switch (state) {
    case LifecycleState::starting:
      return "starting";
    case LifecycleState::running:
      return "running";
    case LifecycleState::backoff:
      return "backoff";
    case LifecycleState::stopping:
      return "stopping";
    case LifecycleState::upgrading:
      return "upgrading";
    case LifecycleState::held:
      return "held";
    case LifecycleState::probation:
      return "probation";
    case LifecycleState::rolling_back:
      return "rolling_back";
    case LifecycleState::exited:
      return "exited";
  }
  return "unknown";
}

}  // namespace visor
