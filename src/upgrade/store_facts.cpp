// The planner's view of the binary store (declared in upgrade_manager.h).
#include "visor/upgrade/upgrade_manager.h"

namespace visor {

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

}  // namespace visor
