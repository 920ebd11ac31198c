#include "visor/upgrade/upgrade_manager.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "visor/common/command_line.h"
#include "visor/common/log.h"
#include "visor/process/process_table.h"
#include "visor/sources/cosmos_source.h"
#include "visor/sources/source_factory.h"
#include "visor/store/semver.h"
#include "visor/upgrade/stager.h"

extern char** environ;

namespace visor {
namespace {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string plan_key(const std::string& plan, std::optional<std::uint64_t> height) {
  return plan + "@" + (height ? std::to_string(*height) : std::string("?"));
}

bool version_below(const std::string& left, const std::string& right) {
  const auto a = SemVer::parse(left);
  const auto b = SemVer::parse(right);
  return a && b && *a < *b;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

}  // namespace

std::string manual_request_path(const std::string& home) { return home + "/upgrade-request.json"; }

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
      retry_timer_(io) {}

UpgradeManager::~UpgradeManager() {
  *alive_ = false;
  try {
    stop();
  } catch (...) {
    // cancelling the retry timer at exit can only fail if the io_context is gone; nothing to do
  }
}

void UpgradeManager::save() {
  Status saved = store_.save();
  if (!saved) log::error("state_write_failed", saved.error());
}

bool UpgradeManager::resume_after_restart() {
  auto& pending = store_.state().pending;
  if (!pending) return false;
  const auto current = store_.current_version();
  if (pending->stage == "switching" && current && *current == pending->version) {
    switching_ = pending;
    status_.upgrade_in_progress = true;
    status_.upgrade_target = pending->version;
    log::info(
        "upgrade_resumed",
        "visor restarted during the switch to " + pending->version + "; it starts on probation",
        {{"version", pending->version}});
    return true;
  }
  // The switch had not happened, or a download was under way: stage it again in the
  // background (a .part file is resumed); the source decides whether to switch.
  UpgradeDecision decision;
  decision.target = pending->version;
  decision.height = pending->height;
  decision.plan = pending->plan;
  decision.url = pending->url;
  decision.sha256 = pending->sha256;
  decision.reason = "resuming the interrupted upgrade to " + pending->version;
  pending->stage = store_.has_version(pending->version) ? "staged" : "downloading";
  save();
  boost::asio::post(io_, [this, alive = alive_, decision] {
    if (*alive && !wanted_) on_decision(decision);
  });
  return false;
}

void UpgradeManager::start_source() {
  if (options_.source == SourceKind::none) {
    // Manual upgrades: `visor add-upgrade` stages a version and writes a request in Cosmos's
    // upgrade-info.json format, which the Cosmos source's watcher (inotify) picks up.
    Options manual = options_;
    manual.upgrade_info = manual_request_path(store_.home());
    manual.poll_interval = Duration(1000);
    source_ = std::make_unique<CosmosSource>(io_, source_worker_, manual);
  } else {
    source_ = make_source(io_, source_worker_, options_);
  }
  if (!source_) return;
  for (const auto& done : store_.state().done_plans) {
    const auto at = done.rfind('@');
    if (at == std::string::npos) continue;
    try {
      source_->mark_done(done.substr(0, at), std::stoull(done.substr(at + 1)));
    } catch (...) {
      // an entry without a height: the plan name alone is remembered by the manager
    }
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
                   if (ok) {
                     status_.last_successful_poll_unixtime = unix_now();
                   } else {
                     ++status_.source_errors_total;
                   }
                 });
}

void UpgradeManager::stop() {
  stopped_ = true;
  *cancel_ = true;
  retry_timer_.cancel();
  if (source_) source_->stop();
}

void UpgradeManager::on_decision(const UpgradeDecision& decision) {
  if (stopped_) return;
  if (!decision.reason.empty()) log::info("source_decision", decision.reason);
  wanted_ = decision;
  candidate_ = 0;
  retry_delay_ = Duration(10000);
  evaluate();
}

std::string UpgradeManager::resolve_version(const UpgradeDecision& decision) {
  std::vector<std::string> candidates;
  if (!decision.target.empty()) candidates.push_back(decision.target);
  for (const auto& fallback : decision.fallbacks) candidates.push_back(fallback);
  if (candidates.empty() && !decision.plan.empty()) {
    // `visor add-upgrade --plan` may have written the mapping while visor runs.
    if (auto on_disk = load_state(store_.state_path())) {
      for (const auto& [plan, version] : on_disk->plans) store_.state().plans[plan] = version;
    }
    auto it = store_.state().plans.find(decision.plan);
    if (it != store_.state().plans.end()) candidates.push_back(it->second);
  }
  while (candidate_ < candidates.size()) {
    const std::string& version = candidates[candidate_];
    auto failed = store_.state().failed.find(version);
    if (failed == store_.state().failed.end()) return version;
    const std::string line =
        "not choosing " + version + ": it failed before (" + failed->second + ")";
    if (line != last_logged_) {
      last_logged_ = line;
      log::warn("version_failed_before", line);
    }
    ++candidate_;
  }
  return {};
}

bool UpgradeManager::plan_done(const UpgradeDecision& decision) const {
  if (decision.plan.empty()) return false;
  const auto& done = store_.state().done_plans;
  return std::find(done.begin(), done.end(), plan_key(decision.plan, decision.height)) !=
         done.end();
}

void UpgradeManager::evaluate() {
  if (stopped_ || !wanted_ || staging_ || hook_running_ || switching_) return;
  const UpgradeDecision decision = *wanted_;
  if (decision.target.empty() && decision.plan.empty()) return;
  if (plan_done(decision)) return;
  const std::string version = resolve_version(decision);
  const std::string current = status_.current_version;
  if (version.empty()) {
    if (!decision.plan.empty() && decision.target.empty() && !decision.url.empty() &&
        store_.state().failed.count("plan:" + decision.plan) == 0) {
      start_stage("", decision);  // the version is learnt from the downloaded binary
    } else if (!decision.plan.empty() && decision.target.empty()) {
      fail("upgrade plan " + decision.plan +
           " names no version and has no binary URL; stage it with "
           "`visor add-upgrade --plan " +
           decision.plan + " VERSION FILE`");
    }
    return;
  }
  if (!current.empty() && !version_below(current, version)) {
    if (!decision.plan.empty() && version == current) {
      // Already running the plan's version (e.g. visor restarted after the switch).
      store_.state().done_plans.push_back(plan_key(decision.plan, decision.height));
      save();
    } else if (version_below(version, current)) {
      const std::string line = "refusing a downgrade from " + current + " to " + version;
      if (line != last_logged_) {
        last_logged_ = line;
        log::warn("downgrade_refused", line);
      }
    }
    return;
  }
  if (store_.has_version(version)) {
    if (decision.activate) {
      begin_switch(version, decision);
    } else {
      const std::string line = version + " is staged; switching when the network requires it";
      if (line != last_logged_) {
        last_logged_ = line;
        log::info("prestaged", line, {{"version", version}});
      }
    }
    return;
  }
  start_stage(version, decision);
}

void UpgradeManager::start_stage(const std::string& version, const UpgradeDecision& decision) {
  staging_ = true;
  const std::string label = version.empty() ? "plan " + decision.plan : version;
  const PendingUpgrade pending =
      pending_for(version.empty() ? decision.plan : version, decision, "downloading");
  if (!version.empty()) {
    store_.state().pending = pending;
    save();
  }
  status_.upgrade_target = label;
  status_.download_percent = 0;
  publish_();
  log::info("download_started", "fetching " + store_.name() + " " + label,
            {{"version", label}, {"activate", decision.activate ? "now" : "pre-stage"}});

  StageRequest request;
  request.version = version;
  request.url = decision.url;
  request.sha256 = decision.sha256;
  request.label = "plan-" + decision.plan;
  request.cancel = cancel_;
  auto last_bytes = std::make_shared<std::uint64_t>(0);
  request.on_progress = [this, alive = alive_, label,
                         last_bytes](const DownloadProgress& progress) {
    worker_.to_main([this, alive, label, last_bytes, progress] {
      if (!*alive) return;
      if (progress.bytes >= *last_bytes)
        status_.download_bytes_total += progress.bytes - *last_bytes;
      *last_bytes = progress.bytes;
      const int percent =
          progress.total > 0 ? static_cast<int>(progress.bytes * 100 / progress.total) : -1;
      status_.download_percent = percent;
      char rate[32];
      std::snprintf(rate, sizeof rate, "%.1f", progress.bytes_per_second / (1024.0 * 1024.0));
      log::info("download_progress",
                "downloading " + label + ": " +
                    (percent >= 0 ? std::to_string(percent) + "%" : std::string("?")) + " (" +
                    std::to_string(progress.bytes) + " bytes, " + rate + " MiB/s)",
                {{"version", label}});
      publish_();
    });
  };
  const Options& options = options_;
  const BinaryStore& store = store_;
  worker_.run([request, &options, &store] { return stage_version(request, options, store); },
              [this, alive = alive_, decision, label](Result<StageResult> result) {
                if (!*alive) return;
                staging_ = false;
                status_.download_percent = -1;
                if (!result) {
                  if (store_.state().pending && store_.state().pending->stage == "downloading") {
                    store_.state().pending.reset();
                    save();
                  }
                  ++status_.upgrades_total["failed"];
                  fail("staging " + label + " failed: " + result.error());
                  if (decision.plan.empty() || !decision.target.empty()) {
                    const size_t options_count = 1 + decision.fallbacks.size();
                    if (candidate_ + 1 < options_count) {
                      ++candidate_;
                      log::info("fallback", "trying the next acceptable version");
                      evaluate();
                      return;
                    }
                  }
                  candidate_ = 0;
                  schedule_retry();
                  return;
                }
                const StageResult& staged = result.value();
                log::info(
                    "staged",
                    "staged " + store_.name() + " " + staged.version +
                        (staged.already_present
                             ? " (already present)"
                             : " (" + std::to_string(staged.bytes) + " bytes, SHA-256 verified" +
                                   (staged.resumed ? ", resumed" : "") + ")"),
                    {{"version", staged.version}});
                if (!decision.plan.empty()) store_.state().plans[decision.plan] = staged.version;
                if (store_.state().pending && store_.state().pending->version == staged.version) {
                  store_.state().pending->stage = "staged";
                }
                save();
                status_.last_error.clear();
                retry_delay_ = Duration(10000);
                publish_();
                evaluate();
              });
}

void UpgradeManager::begin_switch(const std::string& version, const UpgradeDecision& decision) {
  const auto state = supervisor_.state();
  if (state != LifecycleState::running && state != LifecycleState::backoff) {
    return;  // re-evaluated on the next state change
  }
  if (options_.pre_upgrade.empty()) {
    request_switch(version, decision);
    return;
  }
  hook_running_ = true;
  run_hook(options_.pre_upgrade, "pre-upgrade", version, [this, version, decision](bool ok) {
    hook_running_ = false;
    if (!ok) {
      ++status_.upgrades_total["failed"];
      fail("the --pre-upgrade hook failed; the upgrade to " + version + " is aborted");
      schedule_retry();
      return;
    }
    request_switch(version, decision);
  });
}

PendingUpgrade UpgradeManager::pending_for(const std::string& version,
                                           const UpgradeDecision& decision,
                                           const std::string& stage) const {
  PendingUpgrade pending;
  pending.version = version;
  pending.from_version = status_.current_version;
  pending.height = decision.height;
  pending.plan = decision.plan;
  pending.stage = stage;
  pending.url = decision.url;
  pending.sha256 = decision.sha256;
  return pending;
}

void UpgradeManager::request_switch(const std::string& version, const UpgradeDecision& decision) {
  const PendingUpgrade pending = pending_for(version, decision, "switching");
  store_.state().pending = pending;
  save();
  switching_ = pending;
  status_.upgrade_in_progress = true;
  status_.upgrade_target = version;
  log::info("upgrade_started", "switching from " + pending.from_version + " to " + version,
            {{"version", version}, {"from", pending.from_version}});
  publish_();
  supervisor_.request_upgrade();
}

std::vector<std::string> UpgradeManager::upgrade_arguments() const {
  std::vector<std::string> words;
  if (!switching_) return words;
  const std::string height = switching_->height ? std::to_string(*switching_->height) : "";
  for (const auto& word : options_.upgrade_args) {
    words.push_back(
        replace_all(replace_all(word, "{version}", switching_->version), "{height}", height));
  }
  return words;
}

bool UpgradeManager::switch_current() {
  if (!switching_) return false;
  Status switched = store_.switch_to(switching_->version);
  if (!switched) {
    ++status_.upgrades_total["failed"];
    fail("switching to " + switching_->version + " failed: " + switched.error());
    store_.state().pending.reset();
    save();
    switching_.reset();
    status_.upgrade_in_progress = false;
    return false;
  }
  status_.current_version = switching_->version;
  log::info("switched", "current now points at " + switching_->version,
            {{"version", switching_->version}});
  return true;
}

void UpgradeManager::commit() {
  if (!switching_) return;
  const PendingUpgrade done = *switching_;
  switching_.reset();
  ++status_.upgrades_total["success"];
  if (!done.plan.empty()) {
    store_.state().done_plans.push_back(plan_key(done.plan, done.height));
    if (source_ && done.height) source_->mark_done(done.plan, *done.height);
  }
  store_.state().pending.reset();
  save();
  status_.upgrade_in_progress = false;
  status_.upgrade_target.clear();
  status_.last_error.clear();
  status_.current_version = done.version;
  if (source_) source_->set_current_version(done.version);
  log::info("upgrade_succeeded",
            "upgrade from " + done.from_version + " to " + done.version +
                " succeeded: it stayed up for " + std::to_string(options_.healthy_after.count()) +
                "ms",
            {{"version", done.version}});
  publish_();
  if (!options_.post_upgrade.empty()) {
    run_hook(options_.post_upgrade, "post-upgrade", done.version, [](bool) {});
  }
  evaluate();
}

void UpgradeManager::roll_back(const std::string& reason) {
  if (!switching_) return;
  const PendingUpgrade failed = *switching_;
  switching_.reset();
  const std::string line =
      "rolled back from " + failed.version + " to " + failed.from_version + ": " + reason;
  Status rolled = store_.roll_back(failed.version, failed.from_version, reason);
  if (!rolled) log::error("rollback_failed", rolled.error());
  store_.state().pending.reset();
  save();
  ++status_.upgrades_total["rolled_back"];
  status_.upgrade_in_progress = false;
  status_.upgrade_target.clear();
  status_.current_version = failed.from_version;
  status_.last_error = line;
  if (source_) source_->set_current_version(failed.from_version);
  log::error("rolled_back", line, {{"version", failed.version}, {"to", failed.from_version}});
  publish_();
}

void UpgradeManager::state_changed(LifecycleState state) {
  if (state == LifecycleState::running || state == LifecycleState::backoff) evaluate();
}

void UpgradeManager::fail(const std::string& line) {
  log::error("upgrade_error", line);
  status_.last_error = line;
  publish_();
}

void UpgradeManager::schedule_retry() {
  if (stopped_) return;
  const Duration delay = retry_delay_;
  retry_delay_ = std::min(retry_delay_ * 2, Duration(5 * 60 * 1000));
  log::info("upgrade_retry", "trying again in " + std::to_string(delay.count() / 1000) + "s");
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait([this, alive = alive_](const boost::system::error_code& error) {
    if (error || !*alive) return;
    candidate_ = 0;
    evaluate();
  });
}

void UpgradeManager::run_hook(const std::string& command, const std::string& which,
                              const std::string& version, std::function<void(bool ok)> done) {
  auto words = split_command_line(command);
  if (!words || words->empty()) {
    log::error("hook_failed",
               "--" + which + ": " + (words ? std::string("empty command") : words.error()));
    done(false);
    return;
  }
  SpawnOptions spawn;
  auto path = resolve_executable(words->front());
  if (!path) {
    log::error("hook_failed", "--" + which + ": " + path.error());
    done(false);
    return;
  }
  spawn.path = path.value();
  spawn.argv = words.value();
  spawn.new_process_group = false;
  for (char** entry = environ; *entry; ++entry) spawn.environment.push_back(*entry);
  spawn.environment.push_back("VISOR_UPGRADE_VERSION=" + version);
  spawn.environment.push_back("VISOR_UPGRADE_FROM=" + status_.current_version);
  if (switching_ && switching_->height) {
    spawn.environment.push_back("VISOR_UPGRADE_HEIGHT=" + std::to_string(*switching_->height));
  }
  log::info("hook_started", "running the --" + which + " hook", {{"version", version}});
  worker_.run(
      [spawn]() -> Result<ExitStatus> {
        auto pid = ProcessTable::instance().spawn(spawn);
        if (!pid) return Result<ExitStatus>::failure(pid.error());
        auto status = ProcessTable::instance().wait(pid.value(), Duration(10 * 60 * 1000));
        if (!status) return Result<ExitStatus>::failure("did not finish within 10 minutes");
        return *status;
      },
      [which, done = std::move(done), alive = alive_](const Result<ExitStatus>& result) {
        if (!*alive) return;
        if (!result) {
          log::error("hook_failed", "--" + which + ": " + result.error());
          done(false);
          return;
        }
        const bool ok = result->exited() && result->code() == 0;
        if (ok) {
          log::info("hook_finished", "the --" + which + " hook succeeded");
        } else {
          log::error("hook_failed", "the --" + which + " hook ended with " + result->describe());
        }
        done(ok);
      });
}

}  // namespace visor
