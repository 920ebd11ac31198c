#include "visor/process/service_set.h"

#include <utility>

namespace visor {

using Kind = LifecycleEvent::Kind;
using Do = LifecycleAction::Kind;

SetPolicy SetPolicy::from(const Options& options) {
  SetPolicy policy;
  policy.group = options.group;
  const LifecyclePolicy base = LifecyclePolicy::from(options);
  for (std::size_t index = 0; index < options.children.size(); ++index) {
    policy.names.push_back(options.children[index].name);
    LifecyclePolicy child = base;
    child.require_ready = !ready_pattern_for(options, index).empty();
    policy.lifecycles.push_back(child);
  }
  if (policy.names.empty()) {  // Options built by hand (tests): the one child of --cmd
    policy.names.push_back("child");
    policy.lifecycles.push_back(base);
  }
  // A set of one restarts on its own record either way: `--cmd` is exactly a Lifecycle.
  if (policy.names.size() == 1) policy.group = GroupPolicy::independent;
  return policy;
}

ServiceSet::ServiceSet(SetPolicy policy, const Clock& clock, std::function<double()> random01)
    : policy_(std::move(policy)),
      clock_(clock),
      random01_(std::move(random01)),
      set_record_(policy_.lifecycles.empty() ? LifecyclePolicy{} : policy_.lifecycles.front()) {
  for (const auto& lifecycle : policy_.lifecycles)
    children_.emplace_back(lifecycle, clock_, random01_);
  pending_pass_.assign(children_.size(), false);
  exit_codes_.assign(children_.size(), std::nullopt);
}

LifecycleState ServiceSet::state() const {
  if (children_.size() == 1) return children_.front().state();
  switch (phase_) {
    case Phase::running:
      return starting_ || !start_queue_.empty() ? LifecycleState::starting
                                                : LifecycleState::running;
    case Phase::probation:
      return LifecycleState::probation;
    case Phase::holding:
      return purpose_ == Purpose::roll_back ? LifecycleState::rolling_back
                                            : LifecycleState::upgrading;
    case Phase::held:
      return LifecycleState::held;
    case Phase::backoff:
      return LifecycleState::backoff;
    case Phase::stopping:
      return LifecycleState::stopping;
    case Phase::exited:
      return LifecycleState::exited;
  }
  return LifecycleState::exited;
}

std::optional<TimePoint> ServiceSet::deadline() const {
  std::optional<TimePoint> earliest = set_deadline_;
  for (const auto& child : children_) {
    const auto due = child.deadline();
    if (due && (!earliest || *due < *earliest)) earliest = due;
  }
  return earliest;
}

int ServiceSet::restarts(std::size_t child) const {
  return policy_.group == GroupPolicy::together ? set_record_.restarts()
                                                : children_.at(child).restarts();
}

Duration ServiceSet::restart_delay(std::size_t child) const {
  return policy_.group == GroupPolicy::together ? set_record_.delay()
                                                : children_.at(child).last_delay();
}

std::string ServiceSet::who(std::size_t child) const {
  return children_.size() == 1 ? std::string() : "child " + policy_.names[child] + ": ";
}

bool ServiceSet::any_alive() const {
  for (const auto& child : children_) {
    if (child.state() != LifecycleState::exited) return true;
  }
  return false;
}

void ServiceSet::report(SwitchOutcome outcome, std::string reason, Actions& out) {
  LifecycleAction action{Do::report, 0, false, std::move(reason)};
  action.outcome = outcome;
  out.push_back({action, 0, SpawnReason::first_start});
}

void ServiceSet::exit(int code, std::string reason, Actions& out) {
  phase_ = Phase::exited;
  set_deadline_.reset();
  LifecycleAction action{Do::exit, code, false, std::move(reason)};
  action.gave_up = forced_exit_.has_value();
  out.push_back({action, 0, SpawnReason::first_start});
}

// One event to one child's Lifecycle; its decisions are read by the set.
void ServiceSet::to_child_into(std::size_t child, const LifecycleEvent& event, Actions& out) {
  absorb(child, children_[child].handle(event), out);
  after_child_event(child, out);
}

void ServiceSet::absorb(std::size_t child, const std::vector<LifecycleAction>& decided,
                        Actions& out) {
  for (const auto& action : decided) {
    switch (action.kind) {
      case Do::spawn:
        out.push_back({action, child,
                       starting_ && *starting_ == child ? start_reason_ : SpawnReason::restart});
        break;
      case Do::signal_child:
      case Do::kill_group:
        out.push_back({action, child, SpawnReason::first_start});
        break;
      case Do::report:
        on_report(child, action, out);
        break;
      case Do::exit:
        on_child_end(child, action, out);
        break;
    }
  }
}

// A child's Lifecycle reports what became of the hold or switch the set passed on to it; the
// set reports upward once for the whole set.
void ServiceSet::on_report(std::size_t child, const LifecycleAction& action, Actions& out) {
  switch (action.outcome) {
    case SwitchOutcome::stopped:
      if (hold_turn_.is_asked(child)) {
        hold_turn_.asked.reset();
        advance_hold(out);
      } else if (phase_ == Phase::running || phase_ == Phase::probation) {
        begin_hold(Purpose::halt, out);  // it exited on a network halt: hold the others too
      }
      return;
    case SwitchOutcome::passed:
      if (phase_ != Phase::probation) return;
      pending_pass_[child] = false;
      pass_if_every_child_passed(out);
      return;
    case SwitchOutcome::rolled_back:
      if (phase_ == Phase::probation) {
        rollback_reason_ = who(child) + action.reason;
        begin_hold(Purpose::roll_back, out);
      } else if (hold_turn_.is_asked(child)) {
        hold_turn_.asked.reset();
        advance_hold(out);
      }
      return;
    case SwitchOutcome::dropped:
      if (hold_turn_.is_asked(child)) {
        hold_turn_.asked.reset();
        advance_hold(out);
      }
      return;
  }
}

// A child's Lifecycle ended (stopped by the set, not restarted by its policy, or out of budget).
void ServiceSet::on_child_end(std::size_t child, const LifecycleAction& action, Actions& out) {
  exit_codes_[child] = action.value;
  if (child == 0) first_reason_ = action.reason;
  if (phase_ == Phase::stopping) {
    if (stop_turn_.is_asked(child)) {
      stop_turn_.asked.reset();
      advance_stop(out);
    }
    return;
  }
  if (starting_ && *starting_ == child) starting_.reset();
  if (action.gave_up) {
    forced_exit_ = std::make_pair(1, who(child) + action.reason);
    begin_stop(policy_.lifecycles[child].stop_signal, out);
    return;
  }
  if (policy_.group == GroupPolicy::together || !any_alive()) {
    begin_stop(policy_.lifecycles[child].stop_signal, out);
    return;
  }
  // independent: the others keep running; a start sequence goes on with the next child.
  if (phase_ == Phase::running || phase_ == Phase::probation) advance_start(out);
}

// The set's rules on what a child's Lifecycle decided by itself: a crash during the set's
// probation rolls the set back; under `together` a crash restarts the whole set; while the set
// is held, stopping or waiting, no child restarts on its own.
void ServiceSet::after_child_event(std::size_t child, Actions& out) {
  if (children_[child].state() != LifecycleState::backoff) return;
  // Holding a child in backoff only calls its restart off: its one action, `stopped`, is the
  // set's own doing and is not reported.
  const auto call_off_restart = [this, child] { children_[child].handle({Kind::hold_requested}); };
  switch (phase_) {
    case Phase::holding:
    case Phase::held:
    case Phase::backoff:
    case Phase::stopping:
      call_off_restart();
      return;
    case Phase::probation:
      call_off_restart();
      rollback_reason_ = who(child) + "exited with " + children_[child].last_status().describe() +
                         " during probation";
      begin_hold(Purpose::roll_back, out);
      return;
    case Phase::running:
      break;
    case Phase::exited:
      return;
  }
  if (policy_.group != GroupPolicy::together) return;
  call_off_restart();
  const ExitStatus status = children_[child].last_status();
  switch (set_record_.record(status, clock_.now(), random01_())) {
    case RestartRecord::Verdict::restart:
      begin_hold(Purpose::restart, out);
      return;
    case RestartRecord::Verdict::give_up:
      forced_exit_ = std::make_pair(
          1, "giving up: " + who(child) + "the set (--group together) ended " +
                 std::to_string(set_record_.crashes_in_window()) + " times within " +
                 std::to_string(policy_.lifecycles[child].restart_window.count() / 1000) +
                 "s (--max-restarts " + std::to_string(policy_.lifecycles[child].max_restarts) +
                 "); last: " + status.describe());
      begin_stop(policy_.lifecycles[child].stop_signal, out);
      return;
    case RestartRecord::Verdict::not_restarted:
      begin_stop(policy_.lifecycles[child].stop_signal, out);
      return;
  }
}

// Children start in list order: each is spawned once the one before reported its spawn.
void ServiceSet::begin_start(LifecycleEvent event, SpawnReason reason, Actions& out) {
  start_event_ = event;
  start_reason_ = reason;
  start_queue_.clear();
  for (std::size_t index = 0; index < children_.size(); ++index) start_queue_.push_back(index);
  starting_.reset();
  advance_start(out);
}

void ServiceSet::advance_start(Actions& out) {
  while (!starting_ && !start_queue_.empty()) {
    const std::size_t child = start_queue_.front();
    start_queue_.erase(start_queue_.begin());
    const LifecycleState before = children_[child].state();
    if (start_event_.kind != Kind::start && before != LifecycleState::held) {
      // A child that had ended for good (not restarted by its policy) stays ended: it runs no
      // version, so the set's probation does not wait for it.
      pending_pass_[child] = false;
      continue;
    }
    starting_ = child;
    to_child_into(child, start_event_, out);
    // A spawn that came back at once (as the Supervisor's does) already moved the sequence on.
    if (starting_ == child && children_[child].state() != LifecycleState::starting) {
      starting_.reset();
    }
  }
  if (starting_ || !start_queue_.empty()) return;
  if (phase_ == Phase::running && policy_.group == GroupPolicy::together) {
    set_deadline_ = clock_.now() + policy_.lifecycles.front().healthy_after;
  }
  pass_if_every_child_passed(out);
}

// Probation ends once every child started on the new version has passed and none is still to
// start.
void ServiceSet::pass_if_every_child_passed(Actions& out) {
  if (phase_ != Phase::probation || starting_ || !start_queue_.empty()) return;
  for (const bool pending : pending_pass_) {
    if (pending) return;
  }
  phase_ = Phase::running;
  set_record_.healthy();  // together: every child ran --healthy-after on the new version
  report(SwitchOutcome::passed, {}, out);
}

// Children are held in reverse list order, one at a time: each is gone before the next is
// signalled.
void ServiceSet::begin_hold(Purpose purpose, Actions& out) {
  if (purpose == Purpose::halt && phase_ == Phase::probation) {
    // The new version halted for the next upgrade: the chain went past its height with it.
    report(SwitchOutcome::passed, {}, out);
  }
  phase_ = Phase::holding;
  purpose_ = purpose;
  pending_pass_.assign(children_.size(), false);
  start_queue_.clear();
  starting_.reset();
  set_deadline_.reset();
  hold_turn_.last_first(children_.size());
  advance_hold(out);
}

void ServiceSet::InTurn::last_first(std::size_t count) {
  clear();
  for (std::size_t index = count; index-- > 0;) queue.push_back(index);
}

void ServiceSet::ask_in_turn(InTurn& turn, const LifecycleEvent& request,
                             bool (*ended)(LifecycleState), Phase phase, Actions& out) {
  while (!turn.asked && !turn.queue.empty()) {
    const std::size_t child = turn.queue.front();
    turn.queue.erase(turn.queue.begin());
    if (ended(children_[child].state())) continue;
    turn.asked = child;
    to_child_into(child, request, out);
    if (phase_ != phase) return;  // the child's end changed the set's course
    if (turn.is_asked(child) && ended(children_[child].state())) turn.asked.reset();
  }
}

void ServiceSet::advance_hold(Actions& out) {
  if (phase_ != Phase::holding) return;
  ask_in_turn(
      hold_turn_, {Kind::hold_requested},
      [](LifecycleState state) {
        return state == LifecycleState::held || state == LifecycleState::exited;
      },
      Phase::holding, out);
  if (phase_ == Phase::holding && hold_turn_.finished()) finish_hold(out);
}

void ServiceSet::finish_hold(Actions& out) {
  switch (purpose_) {
    case Purpose::upgrade:
    case Purpose::halt:
      phase_ = Phase::held;
      report(SwitchOutcome::stopped, {}, out);
      return;
    case Purpose::roll_back:
      phase_ = Phase::held;
      report(SwitchOutcome::rolled_back, rollback_reason_, out);
      return;
    case Purpose::restart:
      phase_ = Phase::backoff;
      set_deadline_ = clock_.now() + set_record_.delay();
      return;
  }
}

// A planned stop of visor: reverse list order, one child at a time; visor exits with the first
// child's status once every child has ended.
void ServiceSet::begin_stop(int signal_number, Actions& out) {
  phase_ = Phase::stopping;
  stop_signal_ = signal_number;
  start_queue_.clear();
  starting_.reset();
  hold_turn_.clear();
  set_deadline_.reset();
  stop_turn_.last_first(children_.size());
  advance_stop(out);
}

void ServiceSet::advance_stop(Actions& out) {
  ask_in_turn(
      stop_turn_, {Kind::stop_requested, {}, stop_signal_},
      [](LifecycleState state) { return state == LifecycleState::exited; }, Phase::stopping, out);
  if (phase_ != Phase::stopping || !stop_turn_.finished()) return;
  if (forced_exit_) {
    exit(forced_exit_->first, forced_exit_->second, out);
    return;
  }
  const int code = exit_codes_.front().value_or(128 + stop_signal_);
  if (children_.size() == 1) {
    exit(code, first_reason_, out);
  } else {
    exit(code, "every child has ended; child " + policy_.names.front() + ": " + first_reason_, out);
  }
}

ServiceSet::Actions ServiceSet::on_deadline() {
  Actions out;
  const TimePoint now = clock_.now();
  for (std::size_t child = 0; child < children_.size(); ++child) {
    const auto due = children_[child].deadline();
    if (due && *due <= now) to_child_into(child, {Kind::deadline}, out);
    if (phase_ == Phase::exited) return out;
  }
  if (set_deadline_ && *set_deadline_ <= now) {
    set_deadline_.reset();
    if (phase_ == Phase::backoff) {
      phase_ = Phase::running;
      begin_start({Kind::release_requested}, SpawnReason::restart, out);
    } else if (phase_ == Phase::running) {
      set_record_.healthy();  // together: the set ran long enough
    }
  }
  return out;
}

std::vector<SetAction> ServiceSet::handle(const SetEvent& set_event) {
  const LifecycleEvent& event = set_event.event;
  Actions out;
  if (phase_ == Phase::exited) {
    if (event.kind == Kind::hold_requested || event.kind == Kind::switch_requested) {
      report(SwitchOutcome::dropped, {}, out);
    }
    return out;
  }
  switch (event.kind) {
    case Kind::start:
      if (event.upgrade_start) {
        phase_ = Phase::probation;
        pending_pass_.assign(children_.size(), true);
      }
      begin_start(event, event.upgrade_start ? SpawnReason::upgrade : SpawnReason::first_start,
                  out);
      return out;
    case Kind::spawned:
    case Kind::spawn_failed:
    case Kind::child_exited:
    case Kind::ready_seen: {
      const std::size_t child = set_event.child;
      if (child >= children_.size()) return out;
      to_child_into(child, event, out);
      if ((event.kind == Kind::spawned || event.kind == Kind::spawn_failed) && starting_ &&
          *starting_ == child && children_[child].state() != LifecycleState::starting) {
        starting_.reset();
        if (phase_ == Phase::running || phase_ == Phase::probation) advance_start(out);
      }
      return out;
    }
    case Kind::deadline:
      return on_deadline();
    case Kind::stop_requested:
      if (phase_ == Phase::stopping) {
        stop_signal_ = event.signal_number;  // a second signal goes to the child being stopped
        if (stop_turn_.asked) to_child_into(*stop_turn_.asked, event, out);
        return out;
      }
      begin_stop(event.signal_number, out);
      return out;
    case Kind::hold_requested:
      switch (phase_) {
        case Phase::running:
          begin_hold(Purpose::upgrade, out);
          break;
        case Phase::probation:
          // The network halted for the next upgrade while this version runs: it passed.
          report(SwitchOutcome::passed, {}, out);
          begin_hold(Purpose::upgrade, out);
          break;
        case Phase::holding:
          if (purpose_ == Purpose::restart) purpose_ = Purpose::upgrade;
          break;
        case Phase::backoff:
          set_deadline_.reset();
          phase_ = Phase::held;
          report(SwitchOutcome::stopped, {}, out);
          break;
        case Phase::held:  // already held: the request crossed a halt that reported `stopped`
          break;
        case Phase::stopping:
        case Phase::exited:
          report(SwitchOutcome::dropped, {}, out);
          break;
      }
      return out;
    case Kind::switch_requested:
      if (phase_ != Phase::held) {
        report(SwitchOutcome::dropped, {}, out);
        return out;
      }
      phase_ = Phase::probation;
      pending_pass_.assign(children_.size(), true);
      begin_start(event, SpawnReason::upgrade, out);
      return out;
    case Kind::release_requested:
      if (phase_ != Phase::held) return out;
      phase_ = Phase::running;
      begin_start(event,
                  purpose_ == Purpose::roll_back ? SpawnReason::rollback : SpawnReason::restart,
                  out);
      return out;
  }
  return out;
}

std::vector<std::string> fill_upgrade_args(const std::vector<std::string>& words,
                                           const std::string& version, const std::string& height) {
  // Replaces every `from` in `text` with `to` (no regex: the placeholders are literal).
  const auto fill = [](std::string text, const std::string& from, const std::string& to) {
    for (std::size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at + to.size())) {
      text.replace(at, from.size(), to);
    }
    return text;
  };
  std::vector<std::string> filled;
  filled.reserve(words.size());
  for (const auto& word : words) {
    filled.push_back(fill(fill(word, "{version}", version), "{height}", height));
  }
  return filled;
}

}  // namespace visor
