#include "visor/upgrade/upgrade_planner.h"

#include <algorithm>
#include <utility>

#include "visor/store/semver.h"

namespace visor {

using Kind = UpgradeEvent::Kind;
using Do = UpgradeAction::Kind;
using Level = UpgradeAction::Level;
using S = UpgradeStage;

namespace {

bool version_below(const std::string& left, const std::string& right) {
  const auto a = SemVer::parse(left);
  const auto b = SemVer::parse(right);
  return a && b && *a < *b;
}

UpgradeAction make(Do kind) {
  UpgradeAction action;
  action.kind = kind;
  return action;
}

UpgradeAction act(Do kind) { return make(kind); }

UpgradeAction act(Do kind, const UpgradeTarget& target) {
  UpgradeAction action = make(kind);
  action.target = target;
  return action;
}

UpgradeAction line(Level level, const std::string& event, const std::string& text) {
  UpgradeAction action = make(Do::log);
  action.level = level;
  action.event = event;
  action.text = text;
  return action;
}

UpgradeAction failure(const std::string& text) {
  UpgradeAction action = make(Do::failed);
  action.text = text;
  return action;
}

UpgradeAction persist(const UpgradeTarget& target, PendingStage stage) {
  UpgradeAction action = make(Do::persist);
  action.target = target;
  action.stage = stage;
  return action;
}

}  // namespace

UpgradePolicy UpgradePolicy::from(const Options& options) {
  UpgradePolicy policy;
  policy.pre_upgrade_hook = !options.pre_upgrade.empty();
  policy.healthy_after = options.healthy_after;
  return policy;
}

UpgradePlanner::UpgradePlanner(UpgradePolicy policy, const UpgradeFacts& facts, const Clock& clock)
    : policy_(policy),
      facts_(facts),
      clock_(clock),
      backoff_(policy.retry_initial, policy.retry_max) {}

std::optional<std::string> UpgradePlanner::failed_reason(const std::string& version) const {
  if (auto reason = facts_.failed_reason(version)) return reason;
  const auto it = failed_.find(version);
  if (it != failed_.end()) return it->second;
  return std::nullopt;
}

std::optional<std::string> UpgradePlanner::plan_version(const std::string& plan) const {
  if (auto version = facts_.plan_version(plan)) return version;
  const auto it = mapped_.find(plan);
  if (it != mapped_.end()) return it->second;
  return std::nullopt;
}

bool UpgradePlanner::plan_done(const std::string& plan, std::optional<std::uint64_t> height) const {
  const DonePlan key{plan, height};
  return facts_.plan_done(key) || std::find(done_.begin(), done_.end(), key) != done_.end();
}

bool UpgradePlanner::is_halt(const UpgradeDecision& decision) const {
  if (!decision.activate || !decision.halted) return false;
  if (!decision.plan.empty() && plan_done(decision.plan, decision.height)) return false;
  // The plan being probed is not a new halt: upgrade-info.json still names it.
  if (stage_ == S::probation && decision.plan == target_.plan && decision.height == target_.height)
    return false;
  if (decision.plan.empty() && stage_ == S::probation && decision.target == target_.version)
    return false;
  // A halt without a plan (Vega, a switch scheduled at a height) is over once its version runs.
  if (decision.plan.empty() && !decision.target.empty() &&
      decision.target == facts_.current_version())
    return false;
  return true;
}

bool UpgradePlanner::next_version_staged() {
  const std::size_t candidate = candidate_;
  candidate_ = 0;
  const std::string version = resolve_version(nullptr);
  candidate_ = candidate;
  return !version.empty() && facts_.has_version(version);
}

bool UpgradePlanner::in_progress() const {
  return stage_ == S::stopping || stage_ == S::hook || stage_ == S::probation ||
         stage_ == S::halted_waiting;
}

std::string UpgradePlanner::working_on() const {
  if (stage_ == S::idle || stage_ == S::retrying) return {};
  return target_.version.empty() ? target_.plan : target_.version;
}

bool UpgradePlanner::network_halted() const { return wanted_ && is_halt(*wanted_); }

void UpgradePlanner::log_once(std::vector<UpgradeAction>& actions, Level level,
                              const std::string& event, const std::string& text) {
  if (text == last_logged_) return;
  last_logged_ = text;
  actions.push_back(line(level, event, text));
}

UpgradeTarget UpgradePlanner::target_for(const std::string& version) const {
  UpgradeTarget target;
  target.version = version;
  target.from_version = facts_.current_version();
  if (wanted_) {
    target.plan = wanted_->plan;
    target.height = wanted_->height;
    target.url = wanted_->url;
    target.sha256 = wanted_->sha256;
  }
  return target;
}

// The first acceptable version of the wanted decision: the plan's mapping (`add-upgrade --plan`
// or what the plan's download turned out to be, which beats a version read from the plan's
// name: a fixed build staged for a plan named "v2.0.0" is 2.0.1), then the target, then the
// fallbacks; a version that failed before is skipped (and said so once).
std::string UpgradePlanner::resolve_version(std::vector<UpgradeAction>* actions) {
  const UpgradeDecision& decision = *wanted_;
  std::vector<std::string> candidates;
  if (!decision.plan.empty()) {
    if (auto mapped = plan_version(decision.plan)) candidates.push_back(*mapped);
  }
  if (!decision.target.empty() &&
      std::find(candidates.begin(), candidates.end(), decision.target) == candidates.end()) {
    candidates.push_back(decision.target);
  }
  for (const auto& fallback : decision.fallbacks) candidates.push_back(fallback);
  while (candidate_ < candidates.size()) {
    const std::string& version = candidates[candidate_];
    const auto failed = failed_reason(version);
    if (!failed) return version;
    if (actions) {
      log_once(*actions, Level::warn, "version_failed_before",
               "not choosing " + version + ": it failed before (" + *failed + ")");
    }
    ++candidate_;
  }
  return {};
}

std::vector<UpgradeAction> UpgradePlanner::arm_retry(UpgradeStage stage,
                                                     std::vector<UpgradeAction> actions) {
  ++attempts_;
  const Duration delay = backoff_.nominal(attempts_);
  stage_ = stage;
  deadline_ = clock_.now() + delay;
  UpgradeAction retry = make(Do::arm_retry);
  retry.delay = delay;
  actions.push_back(retry);
  actions.push_back(line(Level::info, "upgrade_retry",
                         "trying again in " + std::to_string(delay.count() / 1000) + "s"));
  return actions;
}

// Nothing to switch to now: a child held for the upgrade runs the current version again,
// unless the network halted (then it stays stopped and the planner waits).
std::vector<UpgradeAction> UpgradePlanner::settle(std::vector<UpgradeAction> actions) {
  stage_ = S::idle;
  deadline_.reset();
  if (child_held_ && !network_halted()) {
    child_held_ = false;
    actions.push_back(act(Do::release));
  }
  return actions;
}

// The network halted and no binary is ready: retry with backoff. A node that halted without
// exiting runs on (a failed download never stops a running child); one that exited stays down.
std::vector<UpgradeAction> UpgradePlanner::wait_for_binary(std::vector<UpgradeAction> actions) {
  return arm_retry(S::halted_waiting, std::move(actions));
}

std::vector<UpgradeAction> UpgradePlanner::start_stage(const std::string& version) {
  std::vector<UpgradeAction> actions;
  target_ = target_for(version);
  stage_ = S::staging;
  deadline_.reset();
  if (!version.empty()) actions.push_back(persist(target_, PendingStage::downloading));
  actions.push_back(act(Do::stage, target_));
  return actions;
}

std::vector<UpgradeAction> UpgradePlanner::begin_switch(const std::string& version) {
  std::vector<UpgradeAction> actions;
  target_ = target_for(version);
  deadline_.reset();
  if (!child_held_) {
    stage_ = S::stopping;
    if (!hold_requested_) {
      hold_requested_ = true;
      actions.push_back(act(Do::hold));
    }
    return actions;
  }
  if (policy_.pre_upgrade_hook) {
    stage_ = S::hook;
    actions.push_back(act(Do::run_hook, target_));
    return actions;
  }
  stage_ = S::probation;
  child_held_ = false;
  actions.push_back(persist(target_, PendingStage::switching));
  actions.push_back(act(Do::switch_to, target_));
  return actions;
}

std::vector<UpgradeAction> UpgradePlanner::evaluate() {
  std::vector<UpgradeAction> actions;
  if (!wanted_ || (wanted_->target.empty() && wanted_->plan.empty())) return settle({});
  const UpgradeDecision decision = *wanted_;
  if (!decision.plan.empty() && plan_done(decision.plan, decision.height)) {
    return settle({});
  }
  const std::string version = resolve_version(&actions);
  const std::string current = facts_.current_version();
  if (version.empty()) {
    if (!decision.plan.empty() && decision.target.empty() && !decision.url.empty() &&
        !failed_reason("plan:" + decision.plan)) {
      auto staging = start_stage("");
      actions.insert(actions.end(), staging.begin(), staging.end());
      return actions;
    }
    if (!decision.plan.empty() && decision.target.empty()) {
      log_once(actions, Level::error, "upgrade_error",
               "upgrade plan " + decision.plan +
                   " names no version and has no binary URL; stage it with "
                   "`visor add-upgrade --plan " +
                   decision.plan + " VERSION FILE`");
    }
    if (network_halted()) return wait_for_binary(std::move(actions));
    return settle(std::move(actions));
  }
  if (!current.empty() && !version_below(current, version)) {
    if (!decision.plan.empty() && version == current) {
      // Already running the plan's version (e.g. visor restarted after the switch).
      done_.push_back({decision.plan, decision.height});
      actions.push_back(act(Do::mark_done, target_for(version)));
    } else if (version_below(version, current)) {
      log_once(actions, Level::warn, "downgrade_refused",
               "refusing a downgrade from " + current + " to " + version);
    }
    return settle(std::move(actions));
  }
  if (facts_.has_version(version)) {
    if (decision.activate) {
      auto switching = begin_switch(version);
      actions.insert(actions.end(), switching.begin(), switching.end());
      return actions;
    }
    log_once(actions, Level::info, "prestaged",
             version + " is staged; switching when the network requires it");
    stage_ = S::staged;
    deadline_.reset();
    if (child_held_) {
      child_held_ = false;
      actions.push_back(act(Do::release));
    }
    return actions;
  }
  auto staging = start_stage(version);
  actions.insert(actions.end(), staging.begin(), staging.end());
  return actions;
}

std::vector<UpgradeAction> UpgradePlanner::on_decision(const UpgradeDecision& decision) {
  if (wanted_ && same_action(*wanted_, decision)) return {};  // said again: nothing new
  std::vector<UpgradeAction> actions;
  if (!decision.reason.empty())
    actions.push_back(line(Level::info, "source_decision", decision.reason));
  wanted_ = decision;
  candidate_ = 0;
  attempts_ = 0;
  return actions;
}

std::vector<UpgradeAction> UpgradePlanner::on_child_stopped() {
  hold_requested_ = false;
  child_held_ = true;
  return {};
}

std::vector<UpgradeAction> UpgradePlanner::handle(const UpgradeEvent& event) {
  std::vector<UpgradeAction> actions;
  auto then = [&actions](std::vector<UpgradeAction> more) {
    actions.insert(actions.end(), more.begin(), more.end());
    return actions;
  };
  switch (stage_) {
    case S::idle:
    case S::staged:
      switch (event.kind) {
        case Kind::resumed:
          if (event.pending.stage == PendingStage::switching &&
              facts_.current_version() == event.pending.version) {
            // visor died after `current` moved: the first child is the new version on probation
            target_ = {event.pending.version, event.pending.from_version, event.pending.plan,
                       event.pending.height,  event.pending.url,          event.pending.sha256};
            stage_ = S::probation;
            return {line(Level::info, "upgrade_resumed",
                         "visor restarted during the switch to " + target_.version +
                             "; it starts on probation")};
          } else {
            UpgradeDecision decision;
            decision.target = event.pending.version;
            decision.height = event.pending.height;
            decision.plan = event.pending.plan;
            decision.url = event.pending.url;
            decision.sha256 = event.pending.sha256;
            decision.reason = "resuming the interrupted upgrade to " + event.pending.version;
            actions = on_decision(decision);
            return then(evaluate());
          }
        case Kind::decision:
          actions = on_decision(event.decision);
          return then(evaluate());
        case Kind::child_stopped:
          on_child_stopped();
          return evaluate();
        case Kind::staged_by_hand:
          return evaluate();
        case Kind::dropped:
          hold_requested_ = false;
          return {};
        case Kind::staged:
        case Kind::stage_failed:
        case Kind::hook_done:
        case Kind::switch_failed:
        case Kind::passed:
        case Kind::rolled_back:
        case Kind::retry_due:
          return {};  // late news of an upgrade that is over
      }
      break;

    case S::staging:
      switch (event.kind) {
        case Kind::decision:
          return on_decision(event.decision);  // applied when the download ends
        case Kind::staged: {
          attempts_ = 0;
          UpgradeTarget staged = target_;
          staged.version = event.version;
          if (!staged.plan.empty()) {
            mapped_[staged.plan] = staged.version;
            actions.push_back(act(Do::map_plan, staged));
          }
          if (!target_.version.empty()) actions.push_back(persist(staged, PendingStage::staged));
          stage_ = S::idle;
          return then(evaluate());
        }
        case Kind::stage_failed: {
          const std::string label =
              target_.version.empty() ? "plan " + target_.plan : target_.version;
          actions.push_back(act(Do::clear_pending));
          actions.push_back(failure("staging " + label + " failed: " + event.text));
          last_logged_.clear();
          stage_ = S::idle;
          const bool by_version = wanted_ && (wanted_->plan.empty() || !wanted_->target.empty());
          if (by_version && candidate_ + 1 < 1 + wanted_->fallbacks.size()) {
            ++candidate_;
            actions.push_back(line(Level::info, "fallback", "trying the next acceptable version"));
            return then(evaluate());
          }
          candidate_ = 0;
          if (network_halted()) return wait_for_binary(std::move(actions));
          return arm_retry(S::retrying, std::move(actions));
        }
        case Kind::child_stopped:
          on_child_stopped();
          if (!network_halted()) {
            child_held_ = false;  // nothing asks for it any more: the old version runs on
            return {act(Do::release)};
          }
          return {};
        case Kind::dropped:
          hold_requested_ = false;
          return {};
        case Kind::resumed:
        case Kind::hook_done:
        case Kind::switch_failed:
        case Kind::passed:
        case Kind::rolled_back:
        case Kind::retry_due:
        case Kind::staged_by_hand:
          return {};  // the download's end decides
      }
      break;

    case S::retrying:
    case S::halted_waiting:
      switch (event.kind) {
        case Kind::decision:
          actions = on_decision(event.decision);
          if (actions.empty() && wanted_) return {};  // the same decision: the retry stands
          deadline_.reset();
          stage_ = S::idle;
          return then(evaluate());
        case Kind::retry_due:
          deadline_.reset();
          candidate_ = 0;
          stage_ = S::idle;
          return evaluate();
        case Kind::staged_by_hand: {
          // Only a version now staged cuts the wait short; a download waits for its retry.
          if (!wanted_ || !next_version_staged()) return {};
          deadline_.reset();
          candidate_ = 0;  // resolved from the first candidate, as next_version_staged() did
          stage_ = S::idle;
          return evaluate();
        }
        case Kind::child_stopped:
          on_child_stopped();
          if (stage_ == S::retrying) return settle({});
          return {};
        case Kind::dropped:
          hold_requested_ = false;
          return {};
        case Kind::resumed:
        case Kind::staged:
        case Kind::stage_failed:
        case Kind::hook_done:
        case Kind::switch_failed:
        case Kind::passed:
        case Kind::rolled_back:
          return {};
      }
      break;

    case S::stopping:
      switch (event.kind) {
        case Kind::child_stopped:
          on_child_stopped();
          return begin_switch(target_.version);
        case Kind::dropped:
          // The Supervisor is stopping for good or the request came too late: nothing waits.
          hold_requested_ = false;
          stage_ = S::idle;
          return {line(Level::warn, "upgrade_dropped",
                       "the switch to " + target_.version + " was not carried out now")};
        case Kind::decision:
          return on_decision(event.decision);  // applied after this switch
        case Kind::stage_failed:
          // The staged binary failed its re-hash before the child was asked to stop (the
          // manager set it aside): the old version keeps running; it is fetched again.
          hold_requested_ = false;
          actions.push_back(failure(event.text));
          return arm_retry(S::retrying, std::move(actions));
        case Kind::resumed:
        case Kind::staged:
        case Kind::hook_done:
        case Kind::switch_failed:
        case Kind::passed:
        case Kind::rolled_back:
        case Kind::retry_due:
        case Kind::staged_by_hand:
          return {};
      }
      break;

    case S::hook:
      switch (event.kind) {
        case Kind::hook_done:
          if (event.ok) {
            stage_ = S::probation;
            child_held_ = false;
            return {persist(target_, PendingStage::switching), act(Do::switch_to, target_)};
          }
          actions.push_back(failure("the --pre-upgrade hook failed; the upgrade to " +
                                    target_.version + " is aborted"));
          if (network_halted()) return wait_for_binary(std::move(actions));
          child_held_ = false;
          actions.push_back(act(Do::release));
          return arm_retry(S::retrying, std::move(actions));
        case Kind::decision:
          return on_decision(event.decision);  // applied after this switch
        case Kind::child_stopped:
          on_child_stopped();
          return {};
        case Kind::resumed:
        case Kind::staged:
        case Kind::stage_failed:
        case Kind::switch_failed:
        case Kind::passed:
        case Kind::rolled_back:
        case Kind::dropped:
        case Kind::retry_due:
        case Kind::staged_by_hand:
          return {};
      }
      break;

    case S::probation:
      switch (event.kind) {
        case Kind::passed: {
          actions.push_back(act(Do::commit, target_));
          actions.push_back(line(Level::info, "upgrade_succeeded",
                                 "upgrade from " + target_.from_version + " to " + target_.version +
                                     " succeeded: it stayed up for " +
                                     std::to_string(policy_.healthy_after.count()) + "ms"));
          if (!target_.plan.empty()) {
            done_.push_back({target_.plan, target_.height});
            actions.push_back(act(Do::mark_done, target_));
          }
          stage_ = S::idle;
          attempts_ = 0;
          candidate_ = 0;
          last_logged_.clear();
          return then(evaluate());
        }
        case Kind::rolled_back: {
          UpgradeAction back = act(Do::roll_back, target_);
          back.text = event.text;
          actions.push_back(back);
          actions.push_back(line(Level::error, "rolled_back",
                                 "rolled back from " + target_.version + " to " +
                                     target_.from_version + ": " + event.text));
          failed_[target_.version] = event.text;
          child_held_ = true;  // the Supervisor holds the child until told
          stage_ = S::idle;
          candidate_ = 0;
          last_logged_.clear();
          return then(evaluate());
        }
        case Kind::switch_failed:
          actions.push_back(act(Do::clear_pending));
          actions.push_back(failure("switching to " + target_.version + " failed: " + event.text));
          child_held_ = true;
          if (network_halted()) return wait_for_binary(std::move(actions));
          child_held_ = false;
          actions.push_back(act(Do::release));
          return arm_retry(S::retrying, std::move(actions));
        case Kind::decision:
          actions = on_decision(event.decision);
          // The new version halted for the next plan: it has passed. When that plan's binary is
          // ready, the Supervisor reports `passed` and stops the child for it; otherwise the
          // exit of the halted node (or the end of the probation) says it passed.
          if (network_halted() && !hold_requested_ && next_version_staged()) {
            hold_requested_ = true;
            actions.push_back(act(Do::hold));
          }
          return actions;
        case Kind::dropped:
          hold_requested_ = false;
          return {};
        case Kind::child_stopped:  // a late report; the new version was started since
        case Kind::resumed:
        case Kind::staged:
        case Kind::stage_failed:
        case Kind::hook_done:
        case Kind::retry_due:
        case Kind::staged_by_hand:
          return {};
      }
      break;
  }
  return {};
}

LiveUpgradeStage live_stage(UpgradeStage stage) {
  switch (stage) {
    case UpgradeStage::idle:
      return LiveUpgradeStage::idle;
    case UpgradeStage::staging:
      return LiveUpgradeStage::staging;
    case UpgradeStage::staged:
      return LiveUpgradeStage::staged;
    case UpgradeStage::retrying:
      return LiveUpgradeStage::retrying;
    case UpgradeStage::halted_waiting:
      return LiveUpgradeStage::halted_waiting;
    case UpgradeStage::stopping:
      return LiveUpgradeStage::stopping;
    case UpgradeStage::hook:
      return LiveUpgradeStage::hook;
    case UpgradeStage::probation:
      return LiveUpgradeStage::probation;
  }
  return LiveUpgradeStage::idle;
}

}  // namespace visor
