#include "visor/upgrade/upgrade_planner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace visor {
namespace {

using Kind = UpgradeEvent::Kind;
using Do = UpgradeAction::Kind;
using S = UpgradeStage;

// The store as the planner sees it; the tests change it as the manager would.
class FakeFacts : public UpgradeFacts {
 public:
  std::string current_version() const override { return current; }
  bool has_version(const std::string& version) const override { return staged.count(version) != 0; }
  std::optional<std::string> failed_reason(const std::string& version) const override {
    const auto it = failed.find(version);
    if (it == failed.end()) return std::nullopt;
    return it->second;
  }
  std::optional<std::string> plan_version(const std::string& plan) const override {
    const auto it = plans.find(plan);
    if (it == plans.end()) return std::nullopt;
    return it->second;
  }
  bool plan_done(const DonePlan& plan) const override {
    return std::find(done.begin(), done.end(), plan) != done.end();
  }

  std::string current = "1.0.0";
  std::set<std::string> staged;
  std::map<std::string, std::string> failed;
  std::map<std::string, std::string> plans;
  std::vector<DonePlan> done;
};

std::vector<Do> kinds(const std::vector<UpgradeAction>& actions, bool with_logs = false) {
  std::vector<Do> out;
  for (const auto& action : actions) {
    if (with_logs || action.kind != Do::log) out.push_back(action.kind);
  }
  return out;
}

const UpgradeAction* find(const std::vector<UpgradeAction>& actions, Do kind) {
  for (const auto& action : actions) {
    if (action.kind == kind) return &action;
  }
  return nullptr;
}

bool logged(const std::vector<UpgradeAction>& actions, const std::string& event) {
  return std::any_of(actions.begin(), actions.end(), [&](const UpgradeAction& action) {
    return action.kind == Do::log && action.event == event;
  });
}

UpgradeDecision lava(const std::string& target, bool activate,
                     std::vector<std::string> fallbacks = {}) {
  UpgradeDecision decision;
  decision.target = target;
  decision.activate = activate;
  decision.fallbacks = std::move(fallbacks);
  return decision;
}

// A Cosmos halt: upgrade-info.json names `plan` at `height`.
UpgradeDecision halt(const std::string& plan, std::uint64_t height,
                     const std::string& target = "") {
  UpgradeDecision decision;
  decision.plan = plan;
  decision.height = height;
  decision.target = target;
  decision.activate = true;
  decision.halted = true;
  return decision;
}

class UpgradePlannerTest : public ::testing::Test {
 protected:
  UpgradePlannerTest() { make(); }
  void make() { planner_ = std::make_unique<UpgradePlanner>(policy_, facts_, clock_); }

  std::vector<UpgradeAction> decide(const UpgradeDecision& decision) {
    UpgradeEvent event{Kind::decision};
    event.decision = decision;
    return planner_->handle(event);
  }
  std::vector<UpgradeAction> on(Kind kind, const std::string& text = {}, bool ok = false) {
    UpgradeEvent event{kind};
    event.text = text;
    event.version = text;
    event.ok = ok;
    return planner_->handle(event);
  }
  // The manager's part of a download: the version lands in the store.
  std::vector<UpgradeAction> staged(const std::string& version) {
    facts_.staged.insert(version);
    return on(Kind::staged, version);
  }
  // The manager's part of a switch: `current` moves.
  void switched(const std::vector<UpgradeAction>& actions) {
    const UpgradeAction* action = find(actions, Do::switch_to);
    ASSERT_NE(action, nullptr);
    facts_.current = action->target.version;
  }
  // Runs the armed retry after moving the clock to it.
  std::vector<UpgradeAction> retry() {
    EXPECT_TRUE(planner_->deadline().has_value());
    clock_.advance(std::chrono::duration_cast<Duration>(*planner_->deadline() - clock_.now()));
    return on(Kind::retry_due);
  }

  UpgradePolicy policy_;
  FakeFacts facts_;
  FakeClock clock_;
  std::unique_ptr<UpgradePlanner> planner_;
};

TEST_F(UpgradePlannerTest, AnActivatingDecisionStagesHoldsSwitchesAndCommits) {
  auto actions = decide(lava("1.1.0", true));
  EXPECT_EQ(kinds(actions), (std::vector<Do>{Do::persist, Do::stage}));
  EXPECT_EQ(actions[0].stage, PendingStage::downloading);
  EXPECT_EQ(actions[1].target.version, "1.1.0");
  EXPECT_EQ(actions[1].target.from_version, "1.0.0");
  EXPECT_EQ(planner_->stage(), S::staging);

  actions = staged("1.1.0");
  EXPECT_EQ(kinds(actions), (std::vector<Do>{Do::persist, Do::hold}));
  EXPECT_EQ(actions[0].stage, PendingStage::staged);
  EXPECT_EQ(planner_->stage(), S::stopping);

  actions = on(Kind::child_stopped);
  EXPECT_EQ(kinds(actions), (std::vector<Do>{Do::persist, Do::switch_to}));
  EXPECT_EQ(actions[0].stage, PendingStage::switching);
  EXPECT_EQ(planner_->stage(), S::probation);
  switched(actions);

  actions = on(Kind::passed);
  EXPECT_EQ(kinds(actions), (std::vector<Do>{Do::commit}));
  EXPECT_EQ(actions[0].target.version, "1.1.0");
  EXPECT_EQ(planner_->stage(), S::idle);
}

TEST_F(UpgradePlannerTest, PreStagingOnlyStagesAndKeepsTheChildRunning) {
  decide(lava("1.1.0", false));
  auto actions = staged("1.1.0");
  EXPECT_EQ(kinds(actions), (std::vector<Do>{Do::persist}));
  EXPECT_TRUE(logged(actions, "prestaged"));
  EXPECT_EQ(planner_->stage(), S::staged);
  // The network asks for it later: the switch begins without a second download.
  actions = decide(lava("1.1.0", true));
  EXPECT_EQ(kinds(actions), (std::vector<Do>{Do::hold}));
}

TEST_F(UpgradePlannerTest, AnAlreadyStagedVersionIsNotFetchedAgain) {
  facts_.staged.insert("1.1.0");
  auto actions = decide(lava("1.1.0", true));
  EXPECT_EQ(kinds(actions), (std::vector<Do>{Do::hold}));
}

TEST_F(UpgradePlannerTest, AVersionThatFailedBeforeIsSkippedForTheFallback) {
  facts_.failed["1.2.0"] = "exited with exit code 1 after 300ms";
  auto actions = decide(lava("1.2.0", true, {"1.1.0"}));
  EXPECT_TRUE(logged(actions, "version_failed_before"));
  const UpgradeAction* stage = find(actions, Do::stage);
  ASSERT_NE(stage, nullptr);
  EXPECT_EQ(stage->target.version, "1.1.0");
}

TEST_F(UpgradePlannerTest, OnlyFailedVersionsLeaveNothingToDo) {
  facts_.failed["1.2.0"] = "crashed";
  auto actions = decide(lava("1.2.0", true));
  EXPECT_EQ(kinds(actions), std::vector<Do>{});
  EXPECT_EQ(planner_->stage(), S::idle);
  // Said once, not on every reading.
  EXPECT_TRUE(kinds(decide(lava("1.2.0", true))).empty());
}

TEST_F(UpgradePlannerTest, ADowngradeIsRefused) {
  auto actions = decide(lava("0.9.0", true));
  EXPECT_TRUE(logged(actions, "downgrade_refused"));
  EXPECT_EQ(kinds(actions), std::vector<Do>{});
  EXPECT_EQ(planner_->stage(), S::idle);
}

TEST_F(UpgradePlannerTest, TargetThatCannotBeFetchedFallsBackToMin) {
  decide(lava("1.2.0", true, {"1.1.0"}));
  auto actions = on(Kind::stage_failed, "HTTP 404");
  EXPECT_EQ(find(actions, Do::failed)->text, "staging 1.2.0 failed: HTTP 404");
  EXPECT_TRUE(logged(actions, "fallback"));
  const UpgradeAction* stage = find(actions, Do::stage);
  ASSERT_NE(stage, nullptr);
  EXPECT_EQ(stage->target.version, "1.1.0");
  EXPECT_EQ(kinds(staged("1.1.0")), (std::vector<Do>{Do::persist, Do::hold}));
}

TEST_F(UpgradePlannerTest, FailedDownloadsAreRetriedWithBackoff) {
  decide(lava("1.1.0", true));
  auto actions = on(Kind::stage_failed, "timeout");
  EXPECT_EQ(planner_->stage(), S::retrying);
  ASSERT_NE(find(actions, Do::arm_retry), nullptr);
  EXPECT_EQ(find(actions, Do::arm_retry)->delay, Duration(10000));
  EXPECT_EQ(*planner_->deadline(), clock_.now() + Duration(10000));
  EXPECT_EQ(find(actions, Do::release), nullptr) << "the old version never stopped";

  actions = retry();
  EXPECT_NE(find(actions, Do::stage), nullptr);
  actions = on(Kind::stage_failed, "timeout");
  EXPECT_EQ(find(actions, Do::arm_retry)->delay, Duration(20000));
  retry();
  actions = on(Kind::stage_failed, "timeout");
  EXPECT_EQ(find(actions, Do::arm_retry)->delay, Duration(40000));
  EXPECT_EQ(planner_->attempts(), 3);
}

TEST_F(UpgradePlannerTest, RetryDelaysStopGrowingAtTheMaximum) {
  policy_.retry_initial = Duration(1000);
  policy_.retry_max = Duration(3000);
  make();
  decide(lava("1.1.0", true));
  Duration last{0};
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto actions = on(Kind::stage_failed, "timeout");
    last = find(actions, Do::arm_retry)->delay;
    retry();
  }
  EXPECT_EQ(last, Duration(3000));
}

TEST_F(UpgradePlannerTest, APlanMapsToTheVersionStagedByHand) {
  facts_.plans["gov-upgrade-2"] = "2.0.0";
  facts_.staged.insert("2.0.0");
  auto actions = decide(halt("gov-upgrade-2", 99));
  EXPECT_EQ(kinds(actions), (std::vector<Do>{Do::hold}));
  actions = on(Kind::child_stopped);
  const UpgradeAction* to = find(actions, Do::switch_to);
  ASSERT_NE(to, nullptr);
  EXPECT_EQ(to->target.version, "2.0.0");
  EXPECT_EQ(to->target.plan, "gov-upgrade-2");
  EXPECT_EQ(to->target.height, 99u);
}

TEST_F(UpgradePlannerTest, APlanVersionIsLearntFromItsDownload) {
  UpgradeDecision decision = halt("gov-upgrade-2", 99);
  decision.url = "https://example/simd?checksum=sha256:ab";
  auto actions = decide(decision);
  const UpgradeAction* stage = find(actions, Do::stage);
  ASSERT_NE(stage, nullptr);
  EXPECT_EQ(stage->target.version, "") << "learnt from the binary";
  EXPECT_EQ(find(actions, Do::persist), nullptr) << "nothing to resume without a version";
  actions = staged("2.0.0");
  const UpgradeAction* mapped = find(actions, Do::map_plan);
  ASSERT_NE(mapped, nullptr);
  EXPECT_EQ(mapped->target.plan, "gov-upgrade-2");
  EXPECT_EQ(mapped->target.version, "2.0.0");
}

// Failure 1: while the new binary downloads, the halted node is not started again.
TEST_F(UpgradePlannerTest, AHaltedNodeIsNotStartedAgainWhileTheBinaryDownloads) {
  UpgradeDecision decision = halt("v2.0.0", 100, "2.0.0");
  auto actions = decide(decision);
  EXPECT_EQ(kinds(actions), (std::vector<Do>{Do::persist, Do::stage}));
  EXPECT_TRUE(planner_->network_halted()) << "what the Supervisor asks when the node exits";
  actions = on(Kind::child_stopped);  // the halted node exited and is held
  EXPECT_TRUE(kinds(actions).empty()) << "no release while halted";
  EXPECT_TRUE(planner_->child_held());
  // The download fails: still held, retried with backoff.
  actions = on(Kind::stage_failed, "connection refused");
  EXPECT_EQ(planner_->stage(), S::halted_waiting);
  EXPECT_EQ(find(actions, Do::release), nullptr);
  EXPECT_NE(find(actions, Do::arm_retry), nullptr);
  actions = retry();
  EXPECT_NE(find(actions, Do::stage), nullptr);
  actions = staged("2.0.0");
  EXPECT_NE(find(actions, Do::switch_to), nullptr) << "the child is already stopped";
}

TEST_F(UpgradePlannerTest, AHaltWithoutABinaryWaitsWithTheOldVersionDown) {
  auto actions = decide(halt("gov-upgrade-2", 99));
  EXPECT_TRUE(logged(actions, "upgrade_error"));
  EXPECT_EQ(kinds(actions), (std::vector<Do>{Do::arm_retry})) << "a running node runs on";
  EXPECT_EQ(planner_->stage(), S::halted_waiting);
  EXPECT_TRUE(planner_->network_halted());
  on(Kind::child_stopped);
  actions = retry();
  EXPECT_EQ(find(actions, Do::release), nullptr);
  EXPECT_EQ(planner_->stage(), S::halted_waiting);
}

// Failure 3: a binary staged by hand after the halt is picked up without a new decision.
TEST_F(UpgradePlannerTest, ABinaryStagedByHandForTheHaltedPlanIsPickedUp) {
  decide(halt("gov-upgrade-2", 99));
  on(Kind::child_stopped);
  EXPECT_TRUE(on(Kind::staged_by_hand).empty()) << "nothing staged yet: keep waiting";
  EXPECT_EQ(planner_->stage(), S::halted_waiting);
  facts_.plans["gov-upgrade-2"] = "2.0.0";
  facts_.staged.insert("2.0.0");
  auto actions = on(Kind::staged_by_hand);
  EXPECT_EQ(kinds(actions), (std::vector<Do>{Do::persist, Do::switch_to}));
  EXPECT_FALSE(planner_->deadline().has_value());
}

TEST_F(UpgradePlannerTest, AHaltedNodeStillAliveIsStoppedForTheHandStagedBinary) {
  decide(halt("gov-upgrade-2", 99));
  facts_.plans["gov-upgrade-2"] = "2.0.0";
  facts_.staged.insert("2.0.0");
  auto actions = on(Kind::staged_by_hand);
  EXPECT_EQ(kinds(actions), std::vector<Do>{Do::hold});
  EXPECT_EQ(planner_->stage(), S::stopping);
  actions = on(Kind::child_stopped);
  EXPECT_NE(find(actions, Do::switch_to), nullptr);
}

// Failure 2: the hook runs with the node stopped, and knows the plan and height.
TEST_F(UpgradePlannerTest, ThePreUpgradeHookRunsAfterTheChildStoppedWithItsContext) {
  policy_.pre_upgrade_hook = true;
  make();
  facts_.staged.insert("2.0.0");
  auto actions = decide(halt("v2.0.0", 100, "2.0.0"));
  EXPECT_EQ(kinds(actions), (std::vector<Do>{Do::hold}));
  actions = on(Kind::child_stopped);
  ASSERT_EQ(kinds(actions), (std::vector<Do>{Do::run_hook}));
  EXPECT_EQ(actions[0].target.from_version, "1.0.0");
  EXPECT_EQ(actions[0].target.version, "2.0.0");
  EXPECT_EQ(actions[0].target.plan, "v2.0.0");
  EXPECT_EQ(actions[0].target.height, 100u);
  EXPECT_EQ(planner_->stage(), S::hook);
  actions = on(Kind::hook_done, "", true);
  EXPECT_EQ(kinds(actions), (std::vector<Do>{Do::persist, Do::switch_to}));
}

TEST_F(UpgradePlannerTest, AFailingHookAbortsTheUpgradeAndRestartsTheOldVersion) {
  policy_.pre_upgrade_hook = true;
  make();
  facts_.staged.insert("1.1.0");
  decide(lava("1.1.0", true));
  on(Kind::child_stopped);
  auto actions = on(Kind::hook_done, "", false);
  EXPECT_EQ(kinds(actions), (std::vector<Do>{Do::failed, Do::release, Do::arm_retry}));
  EXPECT_EQ(planner_->stage(), S::retrying);
  actions = retry();
  EXPECT_EQ(kinds(actions), (std::vector<Do>{Do::hold})) << "tried again, the same way";
}

TEST_F(UpgradePlannerTest, AFailingHookWhileHaltedIsRetriedAndTheOldVersionStaysDown) {
  policy_.pre_upgrade_hook = true;
  make();
  facts_.staged.insert("2.0.0");
  decide(halt("v2.0.0", 100, "2.0.0"));
  on(Kind::child_stopped);
  auto actions = on(Kind::hook_done, "", false);
  EXPECT_EQ(kinds(actions), (std::vector<Do>{Do::failed, Do::arm_retry}));
  EXPECT_EQ(planner_->stage(), S::halted_waiting);
  actions = retry();
  EXPECT_EQ(kinds(actions), (std::vector<Do>{Do::run_hook}));
  actions = on(Kind::hook_done, "", false);
  EXPECT_EQ(find(actions, Do::arm_retry)->delay, Duration(20000));
}

TEST_F(UpgradePlannerTest, AVersionFailingItsProbationIsRolledBackAndTheOldOneRestarted) {
  facts_.staged.insert("1.1.0");
  decide(lava("1.1.0", true));
  switched(on(Kind::child_stopped));
  auto actions = on(Kind::rolled_back, "exited with exit code 1 after 300ms");
  ASSERT_GE(actions.size(), 2u);
  EXPECT_EQ(actions[0].kind, Do::roll_back);
  EXPECT_EQ(actions[0].target.version, "1.1.0");
  EXPECT_EQ(actions[0].target.from_version, "1.0.0");
  EXPECT_EQ(actions[0].text, "exited with exit code 1 after 300ms");
  EXPECT_NE(find(actions, Do::release), nullptr);
  EXPECT_EQ(find(actions, Do::hold), nullptr) << "the failed version is not tried again";
}

TEST_F(UpgradePlannerTest, AVersionFailingDuringAHaltLeavesTheOldOneStopped) {
  facts_.staged.insert("2.0.0");
  decide(halt("v2.0.0", 100, "2.0.0"));
  switched(on(Kind::child_stopped));
  auto actions = on(Kind::rolled_back, "exited with exit code 2 after 100ms");
  EXPECT_NE(find(actions, Do::roll_back), nullptr);
  EXPECT_EQ(find(actions, Do::release), nullptr) << "the chain is halted: no old version";
  EXPECT_EQ(planner_->stage(), S::halted_waiting);
}

// Failure 4: the new version halts for the next plan during its probation.
TEST_F(UpgradePlannerTest, AHaltForTheNextPlanDuringProbationCommitsAndFollows) {
  facts_.staged = {"2.0.0", "3.0.0"};
  decide(halt("v2.0.0", 100, "2.0.0"));
  switched(on(Kind::child_stopped));
  EXPECT_FALSE(planner_->network_halted()) << "the plan being probed is no new halt";
  auto actions = decide(halt("v3.0.0", 200, "3.0.0"));
  EXPECT_EQ(kinds(actions), (std::vector<Do>{Do::hold}));
  EXPECT_TRUE(planner_->network_halted());
  actions = on(Kind::passed);
  EXPECT_EQ(kinds(actions), (std::vector<Do>{Do::commit, Do::mark_done}));
  EXPECT_EQ(find(actions, Do::mark_done)->target.plan, "v2.0.0");
  EXPECT_TRUE(logged(actions, "upgrade_succeeded"));
  actions = on(Kind::child_stopped);
  const UpgradeAction* to = find(actions, Do::switch_to);
  ASSERT_NE(to, nullptr);
  EXPECT_EQ(to->target.version, "3.0.0");
  EXPECT_EQ(to->target.from_version, "2.0.0");
}

TEST_F(UpgradePlannerTest, AHaltForANextPlanWithoutABinaryLetsTheProbationDecide) {
  facts_.staged.insert("2.0.0");
  decide(halt("v2.0.0", 100, "2.0.0"));
  switched(on(Kind::child_stopped));
  EXPECT_TRUE(kinds(decide(halt("v3.0.0", 200, "3.0.0"))).empty()) << "nothing to switch to";
  EXPECT_TRUE(planner_->network_halted()) << "its exit would be a halt, not a failure";
  auto actions = on(Kind::passed);
  EXPECT_NE(find(actions, Do::stage), nullptr) << "3.0.0 is fetched";
}

TEST_F(UpgradePlannerTest, ThePlanBeingProbedSaidAgainIsNoHalt) {
  facts_.staged.insert("2.0.0");
  decide(halt("v2.0.0", 100, "2.0.0"));
  switched(on(Kind::child_stopped));
  UpgradeDecision again = halt("v2.0.0", 100, "2.0.0");
  again.reason = "read again when the child exited";
  EXPECT_TRUE(kinds(decide(again)).empty());
  EXPECT_FALSE(planner_->network_halted());
}

TEST_F(UpgradePlannerTest, AThreeHopChainRunsEachVersionOnce) {
  facts_.staged = {"2.0.0", "3.0.0"};
  int switches = 0;
  for (const auto& [plan, height, version] :
       std::vector<std::tuple<std::string, std::uint64_t, std::string>>{{"v2.0.0", 100, "2.0.0"},
                                                                        {"v3.0.0", 200, "3.0.0"}}) {
    decide(halt(plan, height, version));
    auto actions = on(Kind::child_stopped);  // the halted node exited
    ASSERT_NE(find(actions, Do::switch_to), nullptr) << plan;
    switched(actions);
    ++switches;
    actions = on(Kind::passed);
    facts_.done.push_back({plan, height});
    EXPECT_EQ(find(actions, Do::release), nullptr);
  }
  EXPECT_EQ(switches, 2);
  EXPECT_EQ(facts_.current, "3.0.0");
  EXPECT_FALSE(planner_->network_halted());
}

// A halt without a plan (a switch scheduled at a height, Vega's ReadyToUpgrade) is over once its
// version runs: a later crash of that version is a crash, not a halt that keeps it stopped.
TEST_F(UpgradePlannerTest, AHaltWithoutAPlanIsOverOnceItsVersionRuns) {
  facts_.staged.insert("2.0.0");
  UpgradeDecision scheduled = lava("2.0.0", true);
  scheduled.height = 105;
  scheduled.halted = true;
  auto actions = decide(scheduled);
  EXPECT_EQ(kinds(actions), (std::vector<Do>{Do::hold}));
  EXPECT_TRUE(planner_->network_halted());
  actions = on(Kind::child_stopped);
  switched(actions);
  EXPECT_EQ(planner_->stage(), S::probation);
  EXPECT_FALSE(planner_->network_halted());
  actions = on(Kind::passed);
  EXPECT_NE(find(actions, Do::commit), nullptr);
  EXPECT_EQ(planner_->stage(), S::idle);
  EXPECT_FALSE(planner_->network_halted());
  // The same decision again changes nothing.
  EXPECT_TRUE(kinds(decide(scheduled)).empty());
  EXPECT_FALSE(planner_->network_halted());
}

TEST_F(UpgradePlannerTest, ADonePlanIsNotActedUponAgain) {
  facts_.done.push_back({"v2.0.0", 100});
  facts_.staged.insert("2.0.0");
  EXPECT_TRUE(kinds(decide(halt("v2.0.0", 100, "2.0.0"))).empty());
  EXPECT_FALSE(planner_->network_halted());
}

TEST_F(UpgradePlannerTest, APlanWhoseVersionAlreadyRunsIsMarkedDone) {
  facts_.current = "2.0.0";
  auto actions = decide(halt("v2.0.0", 100, "2.0.0"));
  EXPECT_EQ(kinds(actions), (std::vector<Do>{Do::mark_done}));
  EXPECT_FALSE(planner_->network_halted());
}

TEST_F(UpgradePlannerTest, ResumeInTheSwitchingStageStartsOnProbation) {
  facts_.current = "1.1.0";
  UpgradeEvent event{Kind::resumed};
  event.pending = {"1.1.0", "1.0.0", 50, "", PendingStage::switching, "", ""};
  planner_->handle(event);
  EXPECT_EQ(planner_->stage(), S::probation);
  EXPECT_EQ(planner_->target().from_version, "1.0.0");
  auto actions = on(Kind::rolled_back, "crashed");
  EXPECT_EQ(find(actions, Do::roll_back)->target.from_version, "1.0.0");
}

TEST_F(UpgradePlannerTest, ResumeWhileDownloadingStagesAgainWithoutSwitching) {
  UpgradeEvent event{Kind::resumed};
  event.pending = {"1.1.0", "1.0.0", std::nullopt, "", PendingStage::downloading, "", ""};
  auto actions = planner_->handle(event);
  EXPECT_NE(find(actions, Do::stage), nullptr);
  EXPECT_EQ(kinds(staged("1.1.0")), (std::vector<Do>{Do::persist})) << "the source decides";
  EXPECT_EQ(planner_->stage(), S::staged);
}

TEST_F(UpgradePlannerTest, ResumeOfAStagedVersionWaitsForTheSource) {
  facts_.staged.insert("1.1.0");
  UpgradeEvent event{Kind::resumed};
  event.pending = {"1.1.0", "1.0.0", std::nullopt, "", PendingStage::staged, "", ""};
  EXPECT_TRUE(kinds(planner_->handle(event)).empty());
  EXPECT_EQ(planner_->stage(), S::staged);
}

TEST_F(UpgradePlannerTest, ResumeOfASwitchThatDidNotHappenIsNoProbation) {
  facts_.staged.insert("1.1.0");  // `current` still points at 1.0.0
  UpgradeEvent event{Kind::resumed};
  event.pending = {"1.1.0", "1.0.0", std::nullopt, "", PendingStage::switching, "", ""};
  planner_->handle(event);
  EXPECT_NE(planner_->stage(), S::probation);
}

TEST_F(UpgradePlannerTest, ADroppedHoldDoesNotWedgeThePlanner) {
  facts_.staged.insert("1.1.0");
  decide(lava("1.1.0", true));
  EXPECT_EQ(planner_->stage(), S::stopping);
  on(Kind::dropped);
  EXPECT_EQ(planner_->stage(), S::idle);
  // A later decision is acted on again.
  EXPECT_EQ(kinds(decide(lava("1.1.0", true, {"1.0.5"}))), (std::vector<Do>{Do::hold}));
}

TEST_F(UpgradePlannerTest, AFailedSwitchRestartsTheOldVersionAndRetries) {
  facts_.staged.insert("1.1.0");
  decide(lava("1.1.0", true));
  on(Kind::child_stopped);
  auto actions = on(Kind::switch_failed, "rename: EACCES");
  EXPECT_EQ(kinds(actions),
            (std::vector<Do>{Do::clear_pending, Do::failed, Do::release, Do::arm_retry}));
}

TEST_F(UpgradePlannerTest, ADecisionDuringADownloadIsAppliedWhenItEnds) {
  decide(lava("1.1.0", false));
  auto actions = decide(lava("1.1.0", true));
  EXPECT_TRUE(kinds(actions).empty());
  actions = staged("1.1.0");
  EXPECT_NE(find(actions, Do::hold), nullptr);
}

// Operations see each planner stage under its own name (status.json, /healthz, STATUS=), the
// one docs/design.md gives it.
TEST(UpgradeStageForOperations, EachPlannerStageHasItsLiveStage) {
  EXPECT_EQ(live_stage(UpgradeStage::idle), LiveUpgradeStage::idle);
  EXPECT_EQ(live_stage(UpgradeStage::staging), LiveUpgradeStage::staging);
  EXPECT_EQ(live_stage(UpgradeStage::staged), LiveUpgradeStage::staged);
  EXPECT_EQ(live_stage(UpgradeStage::retrying), LiveUpgradeStage::retrying);
  EXPECT_EQ(live_stage(UpgradeStage::halted_waiting), LiveUpgradeStage::halted_waiting);
  EXPECT_EQ(live_stage(UpgradeStage::stopping), LiveUpgradeStage::stopping);
  EXPECT_EQ(live_stage(UpgradeStage::hook), LiveUpgradeStage::hook);
  EXPECT_EQ(live_stage(UpgradeStage::probation), LiveUpgradeStage::probation);
}

}  // namespace
}  // namespace visor
