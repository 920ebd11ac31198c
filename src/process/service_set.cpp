#include "visor/process/service_set.h"

#include <csignal>
#include <utility>

namespace visor {

using Kind = SetEvent::Kind;
using Do = SetAction::Kind;

SetPolicy SetPolicy::from(const Options& options) {
  SetPolicy policy;
  policy.group = options.group;
  policy.restart = LifecyclePolicy::from(options);
  for (std::size_t index = 0; index < options.children.size(); ++index) {
    policy.children.push_back(
        {options.children[index].name, !ready_pattern_for(options, index).empty()});
  }
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

ServiceSet::ServiceSet(SetPolicy policy, const Clock& clock, std::function<double()> random01)
    : policy_(std::move(policy)),
      clock_(clock),
      random01_(std::move(random01)),
      set_record_(policy_.restart) {
  for (const auto& child : policy_.children) children_.emplace_back(child, policy_.restart);
}

std::optional<TimePoint> ServiceSet::deadline() const {
  std::optional<TimePoint> earliest = set_deadline_;
  for (const auto& child : children_) {
    if (child.deadline && (!earliest || *child.deadline < *earliest)) earliest = child.deadline;
  }
  return earliest;
}

int ServiceSet::restarts(std::size_t child) const {
  return policy_.group == GroupPolicy::together ? set_record_.restarts()
                                                : children_.at(child).record.restarts();
}

bool ServiceSet::all_running() const {
  if (children_.empty()) return false;
  for (const auto& child : children_) {
    if (child.state != ChildState::running) return false;
  }
  return true;
}

bool ServiceSet::awaiting_ready(std::size_t child) const {
  const auto& entry = children_.at(child);
  const bool new_version =
      state_ == SetState::probation || (state_ == SetState::starting && upgrade_start_);
  return new_version && entry.policy.require_ready && !entry.ready_seen;
}

bool ServiceSet::any_alive() const {
  for (const auto& child : children_) {
    switch (child.state) {
      case ChildState::starting:
      case ChildState::running:
      case ChildState::backoff:
      case ChildState::stopping:
        return true;
      case ChildState::idle:
      case ChildState::exited:
        break;
    }
  }
  return false;
}

// Every child is started again from the first, in list order; each reports spawned (or
// spawn_failed) before the next is spawned.
std::vector<SetAction> ServiceSet::start_from(std::size_t first, SpawnReason reason) {
  state_ = SetState::starting;
  starting_reason_ = reason;
  upgrade_start_ = reason == SpawnReason::upgrade;
  set_deadline_.reset();
  for (auto& child : children_) {
    child.state = ChildState::idle;
    child.deadline.reset();
    child.ready_seen = false;
  }
  if (first >= children_.size()) return {};
  return spawn_child(first, reason);
}

std::vector<SetAction> ServiceSet::spawn_child(std::size_t child, SpawnReason reason) {
  children_[child].state = ChildState::starting;
  children_[child].deadline.reset();
  SetAction spawn{Do::spawn, child, 0, reason, {}};
  return {spawn};
}

// The next child of a start sequence, or the end of the sequence.
std::vector<SetAction> ServiceSet::on_spawned(std::size_t child) {
  const TimePoint now = clock_.now();
  children_[child].state = ChildState::running;
  if (!upgrade_start_) children_[child].deadline = now + policy_.restart.healthy_after;
  if (state_ != SetState::starting) return {};  // a child of an independent set restarted
  return continue_start(child);
}

// After child `after` of a start sequence: spawn the next child not started yet, or end the
// sequence (every child started; a new version goes on probation).
std::vector<SetAction> ServiceSet::continue_start(std::size_t after) {
  const TimePoint now = clock_.now();
  for (std::size_t next = after + 1; next < children_.size(); ++next) {
    if (children_[next].state == ChildState::idle) return spawn_child(next, starting_reason_);
  }
  std::vector<SetAction> actions{{Do::all_started, 0, 0, starting_reason_, {}}};
  if (upgrade_start_) {
    state_ = SetState::probation;
    for (auto& entry : children_) entry.deadline.reset();
    set_deadline_ = now + policy_.restart.healthy_after;
  } else {
    state_ = SetState::running;
    if (policy_.group == GroupPolicy::together) set_deadline_ = now + policy_.restart.healthy_after;
  }
  return actions;
}

// A child ended without being asked to: its record (independent) or the set's (together)
// decides.
std::vector<SetAction> ServiceSet::on_unplanned_exit(std::size_t child, const ExitStatus& status) {
  Child& entry = children_[child];
  entry.last_status = status;
  entry.ever_exited = true;
  entry.deadline.reset();
  entry.state = ChildState::idle;
  const std::string who = "child " + entry.policy.name;
  const bool together = policy_.group == GroupPolicy::together;
  RestartRecord& record = together ? set_record_ : entry.record;
  switch (record.record(status, clock_.now(), random01_())) {
    case RestartRecord::Verdict::not_restarted: {
      const std::string reason = who + " ended with " + status.describe() + " and --restart is " +
                                 to_string(policy_.restart.restart);
      entry.state = ChildState::exited;
      if (together) return begin_stop(StopPurpose::exit, policy_.restart.stop_signal, reason);
      if (state_ == SetState::starting) {
        auto actions = continue_start(child);
        if (state_ == SetState::starting || any_alive()) return actions;
      }
      if (!any_alive()) return exit_with_first_status(reason + "; no child is left running", 0);
      return {};
    }
    case RestartRecord::Verdict::give_up:
      exit_code_ = 1;
      return begin_stop(
          StopPurpose::give_up, policy_.restart.stop_signal,
          "giving up: " + who + (together ? " (the set restarts together)" : "") + " ended " +
              std::to_string(record.crashes_in_window()) + " times within " +
              std::to_string(policy_.restart.restart_window.count() / 1000) + "s (--max-restarts " +
              std::to_string(policy_.restart.max_restarts) + "); last: " + status.describe());
    case RestartRecord::Verdict::restart:
      if (together) {
        return begin_stop(StopPurpose::restart, policy_.restart.stop_signal,
                          who + " ended with " + status.describe() + "; the set restarts together");
      }
      entry.state = ChildState::backoff;
      entry.deadline = clock_.now() + record.delay();
      if (state_ == SetState::starting) return continue_start(child);
      return {};
  }
  return {};
}

std::vector<SetAction> ServiceSet::begin_stop(StopPurpose purpose, int signal_number,
                                              std::string reason) {
  state_ = SetState::stopping;
  stop_purpose_ = purpose;
  stop_signal_ = signal_number;
  stop_reason_ = std::move(reason);
  set_deadline_.reset();
  stopping_.reset();
  for (auto& child : children_) {
    child.deadline.reset();
    if (child.state == ChildState::backoff) child.state = ChildState::idle;
  }
  return stop_next();
}

// Reverse list order, one at a time: the last child still up gets the stop signal.
std::vector<SetAction> ServiceSet::stop_next() {
  for (std::size_t index = children_.size(); index-- > 0;) {
    Child& child = children_[index];
    if (child.state == ChildState::running || child.state == ChildState::starting) {
      child.state = ChildState::stopping;
      stopping_ = index;
      set_deadline_ = clock_.now() + policy_.restart.stop_timeout;
      return {{Do::signal_child, index, stop_signal_, SpawnReason::first_start, {}}};
    }
  }
  stopping_.reset();
  set_deadline_.reset();
  return after_stop();
}

std::vector<SetAction> ServiceSet::after_stop() {
  switch (stop_purpose_) {
    case StopPurpose::exit:
      return exit_with_first_status(stop_reason_, 128 + stop_signal_);
    case StopPurpose::give_up:
      state_ = SetState::exited;
      return {{Do::exit, 0, exit_code_, SpawnReason::first_start, stop_reason_}};
    case StopPurpose::upgrade: {
      std::vector<SetAction> actions{{Do::switch_to_upgrade, 0, 0, SpawnReason::upgrade, {}}};
      auto start = start_from(0, SpawnReason::upgrade);
      actions.insert(actions.end(), start.begin(), start.end());
      return actions;
    }
    case StopPurpose::roll_back:
      return start_from(0, SpawnReason::rollback);  // roll_back was given when it began
    case StopPurpose::restart:
      state_ = SetState::backoff;
      set_deadline_ = clock_.now() + set_record_.delay();
      return {};
  }
  return {};
}

std::vector<SetAction> ServiceSet::on_stopping_child_gone(std::size_t child,
                                                          const ExitStatus& status) {
  Child& entry = children_[child];
  entry.last_status = status;
  entry.ever_exited = true;
  entry.state = ChildState::idle;
  if (stopping_ && *stopping_ == child) return stop_next();
  return {};  // gone before its turn: stop_next skips it
}

std::vector<SetAction> ServiceSet::exit_with_first_status(const std::string& reason, int fallback) {
  state_ = SetState::exited;
  set_deadline_.reset();
  for (auto& child : children_) child.deadline.reset();
  const Child& first = children_.front();
  const int code = first.ever_exited ? first.last_status.shell_code() : fallback;
  return {{Do::exit, 0, code, SpawnReason::first_start, reason}};
}

// Everything due now: children's backoffs and healthy marks, and the set's own deadline.
std::vector<SetAction> ServiceSet::on_deadline() {
  const TimePoint now = clock_.now();
  std::vector<SetAction> actions;
  if (set_deadline_ && *set_deadline_ <= now) {
    set_deadline_.reset();
    switch (state_) {
      case SetState::running:  // together: the set ran long enough
        set_record_.healthy();
        break;
      case SetState::stopping:  // the stop signal was not enough
        if (stopping_) actions.push_back({Do::kill_group, *stopping_, SIGKILL, {}, {}});
        break;
      case SetState::backoff:
        return start_from(0, SpawnReason::restart);
      case SetState::probation: {
        for (const auto& child : children_) {
          if (child.policy.require_ready && !child.ready_seen) {
            actions.push_back(
                {Do::roll_back, 0, 0, SpawnReason::rollback,
                 "child " + child.policy.name + " never printed its ready-pattern line"});
            auto stop = begin_stop(StopPurpose::roll_back, policy_.restart.stop_signal,
                                   "rolling back the set");
            actions.insert(actions.end(), stop.begin(), stop.end());
            return actions;
          }
        }
        state_ = SetState::running;
        set_record_.healthy();
        for (auto& child : children_) child.record.healthy();
        actions.push_back({Do::commit_upgrade, 0, 0, SpawnReason::upgrade, {}});
        break;
      }
      case SetState::starting:
      case SetState::exited:
        break;
    }
  }
  for (std::size_t index = 0; index < children_.size(); ++index) {
    Child& child = children_[index];
    if (!child.deadline || *child.deadline > now) continue;
    child.deadline.reset();
    if (child.state == ChildState::backoff) {
      auto spawn = spawn_child(index, SpawnReason::restart);
      actions.insert(actions.end(), spawn.begin(), spawn.end());
    } else if (child.state == ChildState::running) {
      child.record.healthy();
    }
  }
  return actions;
}

std::vector<SetAction> ServiceSet::forward(int signal_number) const {
  std::vector<SetAction> actions;
  for (std::size_t index = 0; index < children_.size(); ++index) {
    switch (children_[index].state) {
      case ChildState::starting:
      case ChildState::running:
      case ChildState::stopping:
        actions.push_back({Do::signal_child, index, signal_number, {}, {}});
        break;
      case ChildState::idle:
      case ChildState::backoff:
      case ChildState::exited:
        break;
    }
  }
  return actions;
}

std::vector<SetAction> ServiceSet::handle(const SetEvent& event) {
  using S = SetState;
  if (event.kind != Kind::start && event.kind != Kind::deadline &&
      event.kind != Kind::stop_requested && event.kind != Kind::forward_signal &&
      event.kind != Kind::upgrade_requested && event.child >= children_.size()) {
    return {};  // names no child of this set
  }
  switch (state_) {
    case S::starting:
      switch (event.kind) {
        case Kind::start:
          if (children_.empty() || children_.front().state != ChildState::idle) return {};
          return start_from(0, SpawnReason::first_start);
        case Kind::spawned:
          return on_spawned(event.child);
        case Kind::spawn_failed:
        case Kind::child_exited:
          if (upgrade_start_) {  // the new version did not come up in every child
            auto& child = children_[event.child];
            child.state = ChildState::idle;
            child.last_status = event.status;
            child.ever_exited = true;
            std::vector<SetAction> actions{
                {Do::roll_back, 0, 0, SpawnReason::rollback,
                 "child " + child.policy.name + " could not start: " + event.status.describe()}};
            auto stop =
                begin_stop(StopPurpose::roll_back, policy_.restart.stop_signal, "rolling back");
            actions.insert(actions.end(), stop.begin(), stop.end());
            return actions;
          }
          return on_unplanned_exit(event.child, event.status);
        case Kind::deadline:
          return on_deadline();
        case Kind::stop_requested:
          if (!any_alive()) {
            return exit_with_first_status("stopped before a child started",
                                          128 + event.signal_number);
          }
          return begin_stop(StopPurpose::exit, event.signal_number, "stopped by signal");
        case Kind::forward_signal:
          return forward(event.signal_number);
        case Kind::ready_seen:
          children_[event.child].ready_seen = true;
          return {};
        case Kind::upgrade_requested:  // one thing at a time; the source asks again later
          return {};
      }
      break;

    case S::running:
      switch (event.kind) {
        case Kind::spawned:
          return on_spawned(event.child);
        case Kind::spawn_failed:
        case Kind::child_exited:
          return on_unplanned_exit(event.child, event.status);
        case Kind::deadline:
          return on_deadline();
        case Kind::stop_requested:
          return begin_stop(StopPurpose::exit, event.signal_number, "stopped by signal");
        case Kind::forward_signal:
          return forward(event.signal_number);
        case Kind::upgrade_requested:
          return begin_stop(StopPurpose::upgrade, policy_.restart.stop_signal, "upgrading");
        case Kind::ready_seen:
          children_[event.child].ready_seen = true;
          return {};
        case Kind::start:
          return {};
      }
      break;

    case S::stopping:
      switch (event.kind) {
        case Kind::child_exited:
        case Kind::spawn_failed:
          return on_stopping_child_gone(event.child, event.status);
        case Kind::spawned:  // a spawn that was under way: it is stopped in its turn
          children_[event.child].state = ChildState::running;
          return {};
        case Kind::deadline:
          return on_deadline();
        case Kind::stop_requested: {
          // An upgrade, rollback or restart in flight turns into a plain stop (giving up stays
          // giving up); the signal is passed on to the child being stopped.
          if (stop_purpose_ != StopPurpose::give_up) stop_purpose_ = StopPurpose::exit;
          stop_signal_ = event.signal_number;
          if (!stopping_) return {};
          return {{Do::signal_child, *stopping_, event.signal_number, {}, {}}};
        }
        case Kind::forward_signal:
          return forward(event.signal_number);
        case Kind::start:
        case Kind::upgrade_requested:
        case Kind::ready_seen:
          return {};
      }
      break;

    case S::backoff:
      switch (event.kind) {
        case Kind::deadline:
          return on_deadline();
        case Kind::stop_requested:
          return exit_with_first_status("stopped while the set waited to restart",
                                        128 + event.signal_number);
        case Kind::upgrade_requested: {
          std::vector<SetAction> actions{{Do::switch_to_upgrade, 0, 0, SpawnReason::upgrade, {}}};
          auto start = start_from(0, SpawnReason::upgrade);
          actions.insert(actions.end(), start.begin(), start.end());
          return actions;
        }
        case Kind::start:
        case Kind::spawned:
        case Kind::spawn_failed:
        case Kind::child_exited:
        case Kind::forward_signal:  // nothing runs
        case Kind::ready_seen:
          return {};
      }
      break;

    case S::probation:
      switch (event.kind) {
        case Kind::child_exited:
        case Kind::spawn_failed: {
          auto& child = children_[event.child];
          child.state = ChildState::idle;
          child.last_status = event.status;
          child.ever_exited = true;
          std::vector<SetAction> actions{{Do::roll_back, 0, 0, SpawnReason::rollback,
                                          "child " + child.policy.name + " exited with " +
                                              event.status.describe() + " during probation"}};
          auto stop =
              begin_stop(StopPurpose::roll_back, policy_.restart.stop_signal, "rolling back");
          actions.insert(actions.end(), stop.begin(), stop.end());
          return actions;
        }
        case Kind::deadline:
          return on_deadline();
        case Kind::ready_seen:
          children_[event.child].ready_seen = true;
          return {};
        case Kind::stop_requested:
          return begin_stop(StopPurpose::exit, event.signal_number, "stopped by signal");
        case Kind::forward_signal:
          return forward(event.signal_number);
        case Kind::start:
        case Kind::spawned:
        case Kind::upgrade_requested:  // one upgrade at a time
          return {};
      }
      break;

    case S::exited:
      return {};
  }
  return {};
}

std::vector<std::string> child_argv(const Options& options, std::size_t index, SpawnReason reason,
                                    const std::string& binary_path, const std::string& version,
                                    const std::string& height,
                                    const std::vector<std::string>& extra) {
  // Replaces every `from` in `text` with `to` (no regex: the placeholders are literal).
  const auto fill = [](std::string text, const std::string& from, const std::string& to) {
    for (std::size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at + to.size())) {
      text.replace(at, from.size(), to);
    }
    return text;
  };
  std::vector<std::string> argv;
  if (index < options.children.size()) argv = options.children[index].command;
  if (argv.empty()) return argv;
  argv.front() = binary_path;
  if (reason == SpawnReason::upgrade) {
    for (const auto& word : upgrade_args_for(options, index)) {
      argv.push_back(fill(fill(word, "{version}", version), "{height}", height));
    }
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

const char* to_string(SetState state) {
  switch (state) {
    case SetState::starting:
      return "starting";
    case SetState::running:
      return "running";
    case SetState::stopping:
      return "stopping";
    case SetState::backoff:
      return "backoff";
    case SetState::probation:
      return "probation";
    case SetState::exited:
      return "exited";
  }
  return "unknown";
}

const char* to_string(ChildState state) {
  switch (state) {
    case ChildState::idle:
      return "idle";
    case ChildState::starting:
      return "starting";
    case ChildState::running:
      return "running";
    case ChildState::backoff:
      return "backoff";
    case ChildState::stopping:
      return "stopping";
    case ChildState::exited:
      return "exited";
  }
  return "unknown";
}

}  // namespace visor
