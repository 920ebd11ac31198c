#include "visor/upgrade/network_observer.h"

#include "visor/common/clock.h"
#include "visor/common/log.h"
#include "visor/store/state_file.h"

namespace visor {

namespace {

bool same_view(const NetworkView& left, const NetworkView& right) {
  const bool same_plan = left.plan.has_value() == right.plan.has_value() &&
                         (!left.plan || (left.plan->name == right.plan->name &&
                                         left.plan->height == right.plan->height &&
                                         left.plan->version == right.plan->version));
  const bool same_asks =
      left.asks.has_value() == right.asks.has_value() &&
      (!left.asks || (left.asks->min_version == right.asks->min_version &&
                      left.asks->target_version == right.asks->target_version &&
                      left.asks->upgrade_height == right.asks->upgrade_height &&
                      left.asks->ready_to_upgrade == right.asks->ready_to_upgrade));
  return same_plan && same_asks && left.chain_id == right.chain_id &&
         left.chain_height == right.chain_height;
}

// The decision to switch to the version scheduled at a height, now.
UpgradeDecision switch_now(const std::pair<std::uint64_t, std::string>& scheduled,
                           const std::string& why) {
  UpgradeDecision decision;
  decision.target = scheduled.second;
  decision.activate = true;
  decision.height = scheduled.first;
  decision.reason = why + ": switching to " + scheduled.second + " as scheduled for height " +
                    std::to_string(scheduled.first) + " (add-upgrade --height)";
  return decision;
}

}  // namespace

NetworkObserver::Seen NetworkObserver::polled(bool ok, double latency_seconds,
                                              const NetworkView& view, BinaryStore& store,
                                              LiveStatus& status) {
  ++status.source_polls_total;
  status.source_poll_latency_seconds = latency_seconds;
  status.last_poll_unixtime = unix_time_now();
  status.last_poll_ok = ok;
  if (ok) {
    status.last_successful_poll_unixtime = status.last_poll_unixtime;
  } else {
    ++status.source_errors_total;
  }
  Seen seen;
  observe(view, store, status);
  // The last poll and its result are part of what status shows: every poll changes it.
  seen.changed = true;
  seen.due = due_switch(view, store);
  return seen;
}

bool NetworkObserver::observe(const NetworkView& view, const BinaryStore& store,
                              LiveStatus& status) {
  const bool view_changed = !same_view(status.network, view);
  const std::string version_before = status.plan_version;
  const bool staged_before = status.plan_staged;
  status.network = view;
  status.plan_version.clear();
  status.plan_staged = false;
  if (!view.plan) {
    seen_.clear();
    return view_changed || staged_before || !version_before.empty();
  }
  const ScheduledPlan& plan = *view.plan;
  status.plan_version = plan.version;
  if (status.plan_version.empty()) status.plan_version = store.plan_version(plan.name).value_or("");
  status.plan_staged = !status.plan_version.empty() && store.has_version(status.plan_version);
  const std::string key = plan.name + "@" + std::to_string(plan.height);
  const bool seen_before = seen_ == key;
  seen_ = key;
  const bool changed =
      view_changed || staged_before != status.plan_staged || version_before != status.plan_version;
  const bool fetching = status.upgrade_in_progress || status.download_percent >= 0;
  if (status.plan_staged || !seen_before || fetching || warned_ == key) return changed;
  warned_ = key;
  log::warn("plan_not_staged",
            "upgrade plan " + plan.name + " is scheduled at height " + std::to_string(plan.height) +
                (view.chain_height ? " (chain at " + std::to_string(*view.chain_height) + ")"
                                   : std::string()) +
                " and its binary is not staged: the halt will wait for a download; stage it with "
                "`visor add-upgrade --plan " +
                plan.name + " VERSION FILE`",
            {{"plan", plan.name}});
  return changed;
}

std::optional<UpgradeDecision> NetworkObserver::due_switch(const NetworkView& view,
                                                           BinaryStore& store) {
  if (!view.chain_height) return std::nullopt;
  auto due = store.take_due_height_switch(*view.chain_height);
  if (!due) return std::nullopt;
  due_ = switch_now(*due, "the chain reached height " + std::to_string(*view.chain_height));
  return due_;
}

std::optional<UpgradeDecision> NetworkObserver::halt_at_exit(ChildExit exit,
                                                             const NetworkView& view,
                                                             BinaryStore& store) {
  if (due_ && store.current_version() != due_->target && !store.failed_reason(due_->target)) {
    due_->halted = true;  // the chain is at its height: the old version is not started again
    return due_;
  }
  exit.chain_height = view.chain_height;
  const auto height = scheduled_halt(store.scheduled_heights(), exit);
  auto due = height ? store.take_due_height_switch(*height) : std::nullopt;
  if (!due) return std::nullopt;
  const std::string seen = exit.chain_height
                               ? "the chain was last seen at " + std::to_string(*exit.chain_height)
                               : "the chain height is unknown";
  due_ = switch_now(*due,
                    "the child exited at the height of a scheduled switch (" + seen +
                        (exit.clean && exit.halt_height == *height
                             ? "; it exited cleanly with --halt-height " + std::to_string(*height)
                             : std::string()) +
                        ")");
  due_->halted = true;
  return due_;
}

}  // namespace visor
