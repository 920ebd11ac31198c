#include "visor/upgrade/upgrade_manager.h"

#include <chrono>
#include <cstdio>

#include "visor/common/files.h"
#include "visor/common/log.h"
#include "visor/process/supervisor.h"
#include "visor/sources/cosmos_source.h"
#include "visor/sources/source_factory.h"
#include "visor/sources/upgrade_info.h"
#include "visor/upgrade/hook_runner.h"
#include "visor/upgrade/stager.h"

namespace visor {
namespace {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

PendingUpgrade pending_of(const UpgradeTarget& target, PendingStage stage) {
  return {target.version, target.from_version, target.height, target.plan,
          stage,          target.url,          target.sha256};
}

// The start of `target` with --upgrade-args filled in.
SwitchRequest switch_request(const Options& options, const UpgradeTarget& target) {
  SwitchRequest request{target.version, {}};
  const std::string height = target.height ? std::to_string(*target.height) : "";
  for (const auto& word : options.upgrade_args) {
    request.extra_arguments.push_back(
        replace_all(replace_all(word, "{version}", target.version), "{height}", height));
  }
  return request;
}

}  // namespace

std::string manual_request_path(const std::string& home) { return home + "/upgrade-request.json"; }

std::string StoreFacts::current_version() const { return store_.current_version().value_or(""); }
bool StoreFacts::has_version(const std::string& version) const {
  return store_.has_version(version);
}
std::optional<std::string> StoreFacts::failed_reason(const std::string& version) const {
  return store_.failed_reason(version);
}
std::optional<std::string> StoreFacts::plan_version(const std::string& plan) const {
  return store_.plan_version(plan);
}
bool StoreFacts::plan_done(const DonePlan& plan) const { return store_.plan_done(plan); }

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
      planner_(UpgradePolicy{!options.pre_upgrade.empty()}, facts_, clock_),
      retry_timer_(io),
      watch_timer_(io) {}

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
  return switch_request(options_, planner_.target());
}

void UpgradeManager::start_source() {
  if (options_.source == SourceKind::none) {
    // `visor add-upgrade` stages a version and writes a request in Cosmos's upgrade-info.json
    // format, which the Cosmos source's watcher (inotify) picks up.
    Options manual = options_;
    manual.upgrade_info = manual_request_path(store_.home());
    manual.poll_interval = Duration(1000);
    source_ = std::make_unique<CosmosSource>(io_, source_worker_, manual);
  } else {
    source_ = make_source(io_, source_worker_, options_);
  }
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
                   ++status_.source_polls_total;
                   status_.source_poll_latency_seconds = latency;
                   if (ok) status_.last_successful_poll_unixtime = unix_now();
                   if (!ok) ++status_.source_errors_total;
                 });
}

void UpgradeManager::stop() {
  stopped_ = true;
  *cancel_ = true;
  retry_timer_.cancel();
  watch_timer_.cancel();
  if (source_) source_->stop();
}

void UpgradeManager::on_decision(const UpgradeDecision& decision) {
  UpgradeEvent event{UpgradeEvent::Kind::decision};
  event.decision = decision;
  // A request of `visor add-upgrade` is no network halt: the old version runs until the switch.
  if (options_.source == SourceKind::none) event.decision.halted = false;
  handle(event);
}

void UpgradeManager::on_outcome(SwitchOutcome outcome, const std::string& reason) {
  using Kind = UpgradeEvent::Kind;
  UpgradeEvent event{Kind::dropped};
  event.text = reason;
  switch (outcome) {
    case SwitchOutcome::stopped:
      event.kind = Kind::child_stopped;
      break;
    case SwitchOutcome::passed:
      event.kind = Kind::passed;
      break;
    case SwitchOutcome::rolled_back:
      event.kind = Kind::rolled_back;
      break;
    case SwitchOutcome::dropped:
      event.kind = Kind::dropped;
      break;
  }
  handle(event);
}

bool UpgradeManager::network_halted() {
  if (options_.source == SourceKind::cosmos && !options_.upgrade_info.empty()) {
    // The chain may have written the plan a moment before exiting: read it now, not later.
    if (auto text = read_small_file(options_.upgrade_info, 1 << 20)) {
      if (auto info = parse_upgrade_info(text.value())) {
        UpgradeDecision decision = decide_cosmos(
            info.value(), store_.plan_version(info->name).value_or(""), status_.current_version);
        if (decision.activate) on_decision(decision);
      }
    }
  }
  return planner_.network_halted();
}

void UpgradeManager::handle(const UpgradeEvent& event) {
  if (stopped_) return;
  for (const auto& action : planner_.handle(event)) carry_out(action);
  sync_current();
  const UpgradeStage stage = planner_.stage();
  status_.upgrade_stage = to_string(stage);
  status_.upgrade_in_progress = stage == UpgradeStage::stopping || stage == UpgradeStage::hook ||
                                stage == UpgradeStage::probation ||
                                stage == UpgradeStage::halted_waiting;
  const bool idle = stage == UpgradeStage::idle || stage == UpgradeStage::retrying;
  status_.upgrade_target = idle ? "" : planner_.target().version;
  if (status_.upgrade_target.empty() && !idle) status_.upgrade_target = planner_.target().plan;
  arm_timers();
  publish_();
}

void UpgradeManager::carry_out(const UpgradeAction& action) {
  using Do = UpgradeAction::Kind;
  switch (action.kind) {
    case Do::stage:
      return stage(action.target);
    case Do::hold:
      return supervisor_.hold();
    case Do::release:
      return supervisor_.release();
    case Do::run_hook:
      return run_hook(
          worker_,
          {"pre-upgrade", options_.pre_upgrade, store_.home(), action.target.from_version,
           action.target.version, action.target.plan, action.target.height},
          [this, alive = alive_](bool ok) {
            if (!*alive) return;
            UpgradeEvent done{UpgradeEvent::Kind::hook_done};
            done.ok = ok;
            handle(done);
          });
    case Do::switch_to:
      return switch_to(action.target);
    case Do::commit:
    case Do::roll_back:
      return finish(action);
    case Do::persist:
      return save(store_.set_pending(pending_of(action.target, action.stage)));
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
  const std::string label = target.version.empty() ? "plan " + target.plan : target.version;
  status_.download_percent = 0;
  log::info("download_started", "fetching " + store_.name() + " " + label, {{"version", label}});
  StageRequest request;
  request.version = target.version;
  request.url = target.url;
  request.sha256 = target.sha256;
  request.label = "plan-" + target.plan;
  request.cancel = cancel_;
  auto last_bytes = std::make_shared<std::uint64_t>(0);
  request.on_progress = [this, alive = alive_, label, last_bytes](const DownloadProgress& got) {
    worker_.to_main([this, alive, label, last_bytes, got] {
      if (!*alive) return;
      if (got.bytes >= *last_bytes) status_.download_bytes_total += got.bytes - *last_bytes;
      *last_bytes = got.bytes;
      status_.download_percent = got.total > 0 ? static_cast<int>(got.bytes * 100 / got.total) : -1;
      char rate[32];
      std::snprintf(rate, sizeof rate, "%.1f", got.bytes_per_second / (1024.0 * 1024.0));
      log::info("download_progress",
                "downloading " + label + ": " +
                    (status_.download_percent >= 0 ? std::to_string(status_.download_percent) + "%"
                                                   : std::string("?")) +
                    " (" + std::to_string(got.bytes) + " bytes, " + rate + " MiB/s)",
                {{"version", label}});
      publish_();
    });
  };
  const Options& options = options_;
  const BinaryStore& store = store_;
  worker_.run([request, &options, &store] { return stage_version(request, options, store); },
              [this, alive = alive_](Result<StageResult> result) {
                if (!*alive) return;
                status_.download_percent = -1;
                UpgradeEvent event{UpgradeEvent::Kind::stage_failed};
                if (!result) {
                  event.text = result.error();
                } else {
                  const StageResult& staged = result.value();
                  log::info(
                      "staged",
                      "staged " + store_.name() + " " + staged.version +
                          (staged.already_present
                               ? " (already present)"
                               : " (" + std::to_string(staged.bytes) + " bytes, SHA-256 verified" +
                                     (staged.resumed ? ", resumed" : "") + ")"),
                      {{"version", staged.version}});
                  event.kind = UpgradeEvent::Kind::staged;
                  event.version = staged.version;
                }
                handle(event);
              });
}

void UpgradeManager::switch_to(const UpgradeTarget& target) {
  Status switched = store_.switch_to(target.version);
  if (!switched) {
    // Told as an event after this round of actions, so the planner sees one event at a time.
    boost::asio::post(io_, [this, alive = alive_, error = switched.error()] {
      if (!*alive) return;
      UpgradeEvent failed{UpgradeEvent::Kind::switch_failed};
      failed.text = error;
      handle(failed);
    });
    return;
  }
  log::info("upgrade_started", "switching from " + target.from_version + " to " + target.version,
            {{"version", target.version}, {"from", target.from_version}});
  supervisor_.start_upgrade(switch_request(options_, target));
}

void UpgradeManager::finish(const UpgradeAction& action) {
  const UpgradeTarget& target = action.target;
  if (action.kind == UpgradeAction::Kind::roll_back) {
    Status rolled = store_.roll_back(target.version, target.from_version, action.text);
    if (!rolled) log::error("rollback_failed", rolled.error());
    ++status_.upgrades_total["rolled_back"];
    status_.last_error =
        "rolled back from " + target.version + " to " + target.from_version + ": " + action.text;
    log::error("rolled_back", status_.last_error,
               {{"version", target.version}, {"to", target.from_version}});
  } else {
    ++status_.upgrades_total["success"];
    status_.last_error.clear();
    log::info("upgrade_succeeded",
              "upgrade from " + target.from_version + " to " + target.version +
                  " succeeded: it stayed up for " + std::to_string(options_.healthy_after.count()) +
                  "ms",
              {{"version", target.version}});
    if (!options_.post_upgrade.empty()) {
      run_hook(worker_,
               {"post-upgrade", options_.post_upgrade, store_.home(), target.from_version,
                target.version, target.plan, target.height},
               [](bool) {});
    }
  }
  save(store_.set_pending(std::nullopt));
}

void UpgradeManager::arm_timers() {
  const auto deadline = planner_.deadline();
  if (deadline != armed_retry_) {
    armed_retry_ = deadline;
    retry_timer_.cancel();
    if (deadline) {
      retry_timer_.expires_at(*deadline);
      retry_timer_.async_wait(
          [this, alive = alive_, deadline](const boost::system::error_code& error) {
            if (error || !*alive || armed_retry_ != deadline) return;
            armed_retry_.reset();
            handle({UpgradeEvent::Kind::retry_due});
          });
    }
  }
  if (planner_.stage() != UpgradeStage::halted_waiting) return;
  watch_timer_.expires_after(Duration(500));
  watch_timer_.async_wait([this, alive = alive_](const boost::system::error_code& error) {
    if (error || !*alive) return;
    store_.refresh_plans();  // `visor add-upgrade --plan` writes state.json meanwhile
    handle({UpgradeEvent::Kind::staged_by_hand});
  });
}

// The one place that tells the rest of visor which version runs.
void UpgradeManager::sync_current() {
  const std::string current = store_.current_version().value_or(status_.current_version);
  if (current == status_.current_version) return;
  status_.current_version = current;
  if (source_) source_->set_current_version(current);
}

}  // namespace visor
