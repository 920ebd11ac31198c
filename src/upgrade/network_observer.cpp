#include "visor/upgrade/network_observer.h"

#include "visor/common/log.h"

namespace visor {

void NetworkObserver::observe(const NetworkView& view, const BinaryStore& store,
                              LiveStatus& status) {
  status.network = view;
  status.plan_version.clear();
  status.plan_staged = false;
  if (!view.plan) {
    seen_.clear();
    return;
  }
  const ScheduledPlan& plan = *view.plan;
  status.plan_version = plan.version;
  if (status.plan_version.empty()) {
    const auto mapped = store.state().plans.find(plan.name);
    if (mapped != store.state().plans.end()) status.plan_version = mapped->second;
  }
  status.plan_staged = !status.plan_version.empty() && store.has_version(status.plan_version);
  const std::string key = plan.name + "@" + std::to_string(plan.height);
  const bool seen_before = seen_ == key;
  seen_ = key;
  const bool fetching = status.upgrade_in_progress || status.download_percent >= 0;
  if (status.plan_staged || !seen_before || fetching || warned_ == key) return;
  warned_ = key;
  log::warn("plan_not_staged",
            "upgrade plan " + plan.name + " is scheduled at height " + std::to_string(plan.height) +
                (view.chain_height ? " (chain at " + std::to_string(*view.chain_height) + ")"
                                   : std::string()) +
                " and its binary is not staged: the halt will wait for a download; stage it with "
                "`visor add-upgrade --plan " +
                plan.name + " VERSION FILE`",
            {{"plan", plan.name}});
}

}  // namespace visor
