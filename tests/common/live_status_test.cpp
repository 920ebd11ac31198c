#include "visor/common/live_status.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace visor {
namespace {

// The names status.json, /healthz and /metrics write, as docs/design.md spells the lifecycle's
// states: e2e tests and operators' scripts read them.
TEST(LiveState, NamesAreTheLifecycleStatesOfTheDesignDoc) {
  EXPECT_STREQ(to_string(LiveState::starting), "starting");
  EXPECT_STREQ(to_string(LiveState::running), "running");
  EXPECT_STREQ(to_string(LiveState::backoff), "backoff");
  EXPECT_STREQ(to_string(LiveState::stopping), "stopping");
  EXPECT_STREQ(to_string(LiveState::upgrading), "upgrading");
  EXPECT_STREQ(to_string(LiveState::held), "held");
  EXPECT_STREQ(to_string(LiveState::probation), "probation");
  EXPECT_STREQ(to_string(LiveState::rolling_back), "rolling_back");
  EXPECT_STREQ(to_string(LiveState::exited), "exited");
}

TEST(LiveState, ParseReadsBackEveryNameAndNothingElse) {
  std::set<std::string> names;
  for (const LiveState state : kLiveStates) {
    names.insert(to_string(state));
    EXPECT_EQ(parse_live_state(to_string(state)), state) << to_string(state);
  }
  EXPECT_EQ(names.size(), 9u);  // every state once, each with its own name
  for (const char* other : {"", "Running", "running ", "halted_waiting", "idle", "unknown"}) {
    EXPECT_FALSE(parse_live_state(other).has_value()) << other;
  }
}

TEST(LiveState, AFreshStatusIsStarting) { EXPECT_EQ(LiveStatus{}.state, LiveState::starting); }

// The names status.json, /healthz and STATUS= write for the upgrade planner's stages, as
// docs/design.md spells them: e2e tests and operators' scripts read them.
TEST(LiveUpgradeStage, NamesAreThePlannerStagesOfTheDesignDoc) {
  EXPECT_STREQ(to_string(LiveUpgradeStage::idle), "idle");
  EXPECT_STREQ(to_string(LiveUpgradeStage::staging), "staging");
  EXPECT_STREQ(to_string(LiveUpgradeStage::staged), "staged");
  EXPECT_STREQ(to_string(LiveUpgradeStage::retrying), "retrying");
  EXPECT_STREQ(to_string(LiveUpgradeStage::halted_waiting), "halted_waiting");
  EXPECT_STREQ(to_string(LiveUpgradeStage::stopping), "stopping");
  EXPECT_STREQ(to_string(LiveUpgradeStage::hook), "hook");
  EXPECT_STREQ(to_string(LiveUpgradeStage::probation), "probation");
  std::set<std::string> names;
  for (const LiveUpgradeStage stage : kLiveUpgradeStages) names.insert(to_string(stage));
  EXPECT_EQ(names.size(), 8u);  // every stage once, each with its own name
  EXPECT_EQ(LiveStatus{}.upgrade_stage, LiveUpgradeStage::idle);
}

}  // namespace
}  // namespace visor
