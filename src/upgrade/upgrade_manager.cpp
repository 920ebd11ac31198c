#include "visor/upgrade/upgrade_manager.h"

#include "visor/common/log.h"
#include "visor/process/supervisor.h"
#include "visor/sources/source_factory.h"
#include "visor/upgrade/hook_runner.h"
#include "visor/upgrade/staged_check.h"
#include "visor/upgrade/stager.h"

namespace visor {

UpgradeManager::UpgradeManager(boost::asio::io_context& io, Worker& worker, Worker& source_worker,
                               const Options& options, BinaryStore& store, LiveStatus& status,
                               Supervisor& supervisor, std::function<void()> publish)
    : io_(io),
      worker_(worker),
      source_worker_(source_worker),
      options_(options),
      store_(store),
      status_(status),
      supervisor_(supervisor),
      publish_(std::move(publish)),
      facts_(store),
      planner_(UpgradePolicy::from(options), facts_, clock_),
      retry_timer_(io, [this] { handle({UpgradeEvent::Kind::retry_due}); }),
      watch_timer_(io, [this] {
        store_.refresh();  // `visor add-upgrade --plan` writes state.json meanwhile
        handle({UpgradeEvent::Kind::staged_by_hand});
      }) {}

UpgradeManager::~UpgradeManager() {
  *alive_ = false;
  try {
    stop();
  } catch (...) {
    // cancelling the timers at exit can only fail if the io_context is gone; nothing to do
  }
}

void UpgradeManager::save(const Status& saved) {
  if (!saved) log::error("state_write_failed", saved.error());
}

std::optional<SwitchRequest> UpgradeManager::resume_after_restart() {
  if (!store_.pending()) return std::nullopt;
  UpgradeEvent resumed{UpgradeEvent::Kind::resumed};
  resumed.pending = *store_.pending();
  handle(resumed);
  if (planner_.stage() != UpgradeStage::probation) return std::nullopt;
  return SwitchRequest{planner_.target().version, planner_.target().height_text()};
}

void UpgradeManager::start_source() {
  source_ = options_.source == SourceKind::none
                ? make_manual_source(io_, source_worker_, options_, store_.home())
                : make_source(io_, source_worker_, options_);
  if (!source_) return;
  for (const auto& done : store_.state().done_plans) {
    if (done.height) source_->mark_done(done.name, *done.height);
  }
  source_->set_current_version(status_.current_version);
  source_->start([this](const UpgradeDecision& decision) { on_decision(decision); },
                 [this](const std::string& line) {
                   log::warn("source_error", line, {{"source", source_ ? source_->name() : "?"}});
                   status_.last_error = line;
                   publish_();
                 },
                 [this](bool ok, double latency) {
                   const auto seen = network_.polled(ok, latency, chain(), store_, status_);
                   if (seen.changed) publish_();
                   if (seen.due) on_decision(*seen.due);
                 });
}

bool UpgradeManager::halted_at_start() {
  // A request of `visor add-upgrade` is no halt: the old version runs until the switch.
  if (!source_ || options_.source == SourceKind::none) return false;
  const auto decision = source_->read_now();
  if (!decision || !planner_.is_halt(*decision)) return false;
  planner_.start_held();
  on_decision(*decision);
  return true;
}

void UpgradeManager::stop() {
  stopped_ = true;
  *cancel_ = true;
  retry_timer_.cancel();
  watch_timer_.cancel();
  if (source_) source_->stop();
}

void UpgradeManager::on_decision(UpgradeDecision decision) {
  // A request of `visor add-upgrade` is no network halt: the old version runs until the switch.
  if (options_.source == SourceKind::none) decision.halted = false;
  handle(UpgradeEvent(decision));
}

void UpgradeManager::on_outcome(SwitchOutcome outcome, const std::string& reason) {
  using Kind = UpgradeEvent::Kind;
  handle({outcome == SwitchOutcome::stopped       ? Kind::child_stopped
          : outcome == SwitchOutcome::passed      ? Kind::passed
          : outcome == SwitchOutcome::rolled_back ? Kind::rolled_back
                                                  : Kind::dropped,
          reason});
}

bool UpgradeManager::network_halted(const ExitStatus& status) {
  // The chain may have written its plan a moment before exiting: asked now, not later.
  if (auto decision = source_ ? source_->read_now() : std::nullopt) on_decision(*decision);
  if (planner_.network_halted()) return true;
  // The child stopped itself at the height of a scheduled switch: a halt, even under
  // --source none.
  const ChildExit exit{status.exited() && status.code() == 0,
                       halt_height_argument(options_.command), std::nullopt};
  if (auto halt = network_.halt_at_exit(exit, chain(), store_)) handle(UpgradeEvent(*halt));
  return planner_.network_halted();
}

void UpgradeManager::handle(const UpgradeEvent& event) {
  if (stopped_) return;
  for (const auto& action : planner_.handle(event)) carry_out(action);
  sync_current();
  status_.upgrade_stage = live_stage(planner_.stage());
  status_.upgrade_in_progress = planner_.in_progress();
  status_.upgrade_target = planner_.working_on();
  arm_timers();
  publish_();
}

void UpgradeManager::carry_out(const UpgradeAction& action) {
  using Do = UpgradeAction::Kind;
  switch (action.kind) {
    case Do::stage:
      return stage(action.target);
    case Do::hold:
      // Before a switch stops the old child, its new binary is re-hashed while the old one
      // still runs: the check costs no downtime, and a tampered file is never switched to.
      if (planner_.stage() == UpgradeStage::stopping &&
          store_.has_version(planner_.target().version)) {
        return verify_staged(planner_.target().version, UpgradeEvent::Kind::stage_failed,
                             [this] { supervisor_.hold(); });
      }
      return supervisor_.hold();
    case Do::release:
      return supervisor_.release();
    case Do::run_hook:
      return run_hook(worker_, {"pre-upgrade", options_.pre_upgrade, store_.home(), action.target},
                      [this, alive = alive_](bool ok) {
                        if (*alive) handle({UpgradeEvent::Kind::hook_done, "", ok});
                      });
    case Do::switch_to:
      if (verified_ == action.target.version) return switch_to(action.target);
      // The child was already down (a halt): checked now, just before `current` moves.
      return verify_staged(action.target.version, UpgradeEvent::Kind::switch_failed,
                           [this, target = action.target] { switch_to(target); });
    case Do::commit:
    case Do::roll_back:
      return finish(action);
    case Do::persist:
      return save(store_.set_pending(action.target.pending(action.stage)));
    case Do::clear_pending:
      return save(store_.set_pending(std::nullopt));
    case Do::map_plan:
      return save(store_.map_plan(action.target.plan, action.target.version));
    case Do::mark_done:
      if (source_ && action.target.height)
        source_->mark_done(action.target.plan, *action.target.height);
      return save(store_.mark_plan_done({action.target.plan, action.target.height}));
    case Do::failed:
      ++status_.upgrades_total["failed"];
      status_.last_error = action.text;
      return log::error("upgrade_error", action.text);
    case Do::arm_retry:
      return;  // arm_timers() follows the planner's deadline
    case Do::log:
      if (action.level == UpgradeAction::Level::error) status_.last_error = action.text;
      if (action.level == UpgradeAction::Level::info) return log::info(action.event, action.text);
      if (action.level == UpgradeAction::Level::warn) return log::warn(action.event, action.text);
      return log::error(action.event, action.text);
  }
}

void UpgradeManager::stage(const UpgradeTarget& target) {
  stage_showing_progress(
      worker_, {target.version, target.url, target.sha256, "plan-" + target.plan, {}, cancel_},
      options_, store_, status_,
      [this, alive = alive_] {
        if (*alive) publish_();
      },
      [this, alive = alive_](const Result<StageResult>& result) {
        if (!*alive) return;
        UpgradeEvent event{result ? UpgradeEvent::Kind::staged : UpgradeEvent::Kind::stage_failed,
                           result ? "" : result.error()};
        event.version = result ? result->version : "";
        handle(event);
      });
}

void UpgradeManager::verify_staged(const std::string& version, UpgradeEvent::Kind failure,
                                   std::function<void()> then) {
  check_staged_in_background(
      worker_, store_, version,
      [this, alive = alive_, version, failure, then = std::move(then)](const Status& checked) {
        if (!*alive) return;
        if (!checked) return handle({failure, checked.error()});
        verified_ = version;
        then();
      });
}

void UpgradeManager::switch_to(const UpgradeTarget& target) {
  verified_.clear();
  Status switched = store_.switch_to(target.version);
  if (!switched) {
    // Told as an event after this round of actions, so the planner sees one event at a time.
    boost::asio::post(io_, [this, alive = alive_, error = switched.error()] {
      if (*alive) handle({UpgradeEvent::Kind::switch_failed, error});
    });
    return;
  }
  log::info("upgrade_started", "switching from " + target.from_version + " to " + target.version,
            {{"version", target.version}, {"from", target.from_version}});
  supervisor_.start_upgrade({target.version, target.height_text()});
}

void UpgradeManager::finish(const UpgradeAction& action) {
  const UpgradeTarget& target = action.target;
  if (action.kind == UpgradeAction::Kind::roll_back) {
    Status rolled = store_.roll_back(target.version, target.from_version, action.text);
    if (!rolled) log::error("rollback_failed", rolled.error());
    ++status_.upgrades_total["rolled_back"];
  } else {
    ++status_.upgrades_total["success"];
    status_.last_error.clear();
    if (!options_.post_upgrade.empty()) {
      run_hook(worker_, {"post-upgrade", options_.post_upgrade, store_.home(), target},
               [](bool) {});
    }
  }
  save(store_.set_pending(std::nullopt));
}

void UpgradeManager::arm_timers() {
  retry_timer_.arm(planner_.deadline());
  // While halted and waiting, a binary staged by hand is looked for twice a second.
  const bool watch = planner_.stage() == UpgradeStage::halted_waiting;
  watch_timer_.arm(watch ? std::optional(clock_.now() + Duration(500)) : std::nullopt);
}

// The one place that tells the rest of visor which version runs.
void UpgradeManager::sync_current() {
  const std::string current = store_.current_version().value_or(status_.current_version);
  if (current == status_.current_version) return;
  status_.current_version = current;
  if (source_) source_->set_current_version(current);
}

}  // namespace visor
