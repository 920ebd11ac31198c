// The set policy on a fake clock: every event is fed by hand, the way the Supervisor feeds it
// (a spawn is reported as spawned at once, as the Supervisor's synchronous spawn does).
#include "visor/process/service_set.h"

#include <gtest/gtest.h>

#include <csignal>
#include <string>
#include <vector>

namespace visor {
namespace {

using Kind = LifecycleEvent::Kind;
using Do = LifecycleAction::Kind;
using S = LifecycleState;

ExitStatus exited(int code) { return ExitStatus{code << 8}; }
ExitStatus killed(int signal_number) { return ExitStatus{signal_number}; }

const char* reason_name(SpawnReason reason) {
  switch (reason) {
    case SpawnReason::first_start:
      return "first";
    case SpawnReason::restart:
      return "restart";
    case SpawnReason::upgrade:
      return "upgrade";
    case SpawnReason::rollback:
      return "rollback";
  }
  return "?";
}

class ServiceSetTest : public ::testing::Test {
 protected:
  void make(std::vector<std::string> names, GroupPolicy group = GroupPolicy::independent) {
    SetPolicy policy;
    policy.group = group;
    policy.names = names;
    for (std::size_t index = 0; index < names.size(); ++index) {
      LifecyclePolicy child = lifecycle_;
      child.require_ready = index < ready_.size() && ready_[index];
      policy.lifecycles.push_back(child);
    }
    set_ = std::make_unique<ServiceSet>(policy, clock_, [] { return 0.5; });
    running_.assign(names.size(), false);
  }

  // Feeds one event and everything it leads to; the log records what the driver was told.
  void feed(SetEvent event) {
    std::vector<SetEvent> queue{event};
    while (!queue.empty()) {
      const SetEvent next = queue.front();
      queue.erase(queue.begin());
      for (const auto& set_action : set_->handle(next)) {
        const LifecycleAction& action = set_action.action;
        const std::string child = std::to_string(set_action.child);
        switch (action.kind) {
          case Do::spawn:
            log_.push_back("spawn " + child + " " + reason_name(set_action.reason));
            running_[set_action.child] = true;
            if (!defer_spawns_) queue.push_back({{Kind::spawned}, set_action.child});
            break;
          case Do::signal_child:
            log_.push_back("signal " + child + " " + std::to_string(action.value));
            break;
          case Do::kill_group:
            log_.push_back("kill " + child);
            break;
          case Do::report:
            reports_.push_back(action.outcome);
            reasons_.push_back(action.reason);
            break;
          case Do::exit:
            exits_.push_back(action.value);
            exit_reason_ = action.reason;
            gave_up_ = action.gave_up;
            break;
        }
      }
    }
  }
  void on(Kind kind, int signal_number = 0) { feed({{kind, {}, signal_number}, 0}); }
  /// With defer_spawns_, a spawn is reported only by this (a spawn waiting for its arguments).
  void spawned(std::size_t child) { feed({{Kind::spawned}, child}); }
  void exit_child(std::size_t child, ExitStatus status, bool halted = false) {
    running_[child] = false;
    LifecycleEvent event{Kind::child_exited, status};
    event.halted = halted;
    feed({event, child});
  }
  void start() {
    on(Kind::start);
    log_.clear();
  }
  // Moves the clock to the set's deadline and reports it.
  void fire() {
    ASSERT_TRUE(set_->deadline().has_value());
    clock_.advance(std::chrono::duration_cast<Duration>(*set_->deadline() - clock_.now()));
    on(Kind::deadline);
  }
  // An upgrade up to probation: hold (each child stopped last first), then the switch.
  void hold_and_switch() {
    on(Kind::hold_requested);
    for (std::size_t child = set_->size(); child-- > 0;) exit_child(child, killed(SIGTERM));
    on(Kind::switch_requested);
    log_.clear();
  }
  std::vector<std::string> take_log() {
    auto log = log_;
    log_.clear();
    return log;
  }

  LifecyclePolicy lifecycle_;
  std::vector<bool> ready_;
  FakeClock clock_;
  std::unique_ptr<ServiceSet> set_;
  std::vector<bool> running_;
  bool defer_spawns_ = false;
  std::vector<std::string> log_;
  std::vector<SwitchOutcome> reports_;
  std::vector<std::string> reasons_;
  std::vector<int> exits_;
  std::string exit_reason_;
  bool gave_up_ = false;
};

using Log = std::vector<std::string>;

TEST_F(ServiceSetTest, ChildrenStartInListOrder) {
  make({"core", "datanode", "extra"});
  on(Kind::start);
  EXPECT_EQ(take_log(), (Log{"spawn 0 first", "spawn 1 first", "spawn 2 first"}));
  EXPECT_EQ(set_->state(), S::running);
}

TEST_F(ServiceSetTest, StopGoesInReverseOrderOneChildAtATime) {
  make({"a", "b", "c"});
  start();
  on(Kind::stop_requested, SIGTERM);
  EXPECT_EQ(take_log(), (Log{"signal 2 15"}));  // b waits until c is gone
  exit_child(2, killed(SIGTERM));
  EXPECT_EQ(take_log(), (Log{"signal 1 15"}));
  exit_child(1, exited(0));
  EXPECT_EQ(take_log(), (Log{"signal 0 15"}));
  EXPECT_TRUE(exits_.empty());
  exit_child(0, exited(3));
  ASSERT_EQ(exits_.size(), 1u);
  EXPECT_EQ(exits_[0], 3);  // the first child's status
  EXPECT_EQ(set_->state(), S::exited);
}

TEST_F(ServiceSetTest, AStopSkipsAChildWaitingToRestartAndStillGoesOneAtATime) {
  make({"a", "b", "c"});
  start();
  exit_child(2, exited(1));  // c waits for its restart
  on(Kind::stop_requested, SIGTERM);
  EXPECT_EQ(take_log(), (Log{"signal 1 15"}));  // c has nothing to stop; a waits for b
  exit_child(1, killed(SIGTERM));
  EXPECT_EQ(take_log(), (Log{"signal 0 15"}));
  exit_child(0, killed(SIGTERM));
  ASSERT_EQ(exits_.size(), 1u);
  EXPECT_EQ(exits_[0], 128 + SIGTERM);
}

TEST_F(ServiceSetTest, AChildThatIgnoresTheStopSignalIsKilledBeforeTheNextIsSignalled) {
  lifecycle_.stop_timeout = Duration(5000);
  make({"a", "b"});
  start();
  on(Kind::stop_requested, SIGTERM);
  EXPECT_EQ(take_log(), (Log{"signal 1 15"}));
  fire();
  EXPECT_EQ(take_log(), (Log{"kill 1"}));
  exit_child(1, killed(SIGKILL));
  EXPECT_EQ(take_log(), (Log{"signal 0 15"}));
}

TEST_F(ServiceSetTest, IndependentACrashRestartsOnlyThatChild) {
  make({"a", "b", "c"});
  start();
  exit_child(1, exited(1));
  EXPECT_TRUE(take_log().empty());
  EXPECT_EQ(set_->child_state(1), S::backoff);
  EXPECT_EQ(set_->child_state(0), S::running);
  EXPECT_EQ(set_->child_state(2), S::running);
  fire();
  EXPECT_EQ(take_log(), (Log{"spawn 1 restart"}));
  EXPECT_EQ(set_->restarts(1), 1);
  EXPECT_EQ(set_->restarts(0), 0);
}

TEST_F(ServiceSetTest, IndependentACleanExitLeavesTheOthersRunningThenVisorExitsWithTheFirst) {
  make({"a", "b"});
  start();
  exit_child(1, exited(0));  // on-failure: not restarted
  EXPECT_EQ(set_->child_state(1), S::exited);
  EXPECT_TRUE(exits_.empty());
  EXPECT_EQ(set_->child_state(0), S::running);
  exit_child(0, exited(0));
  ASSERT_EQ(exits_.size(), 1u);
  EXPECT_EQ(exits_[0], 0);
}

TEST_F(ServiceSetTest, IndependentABudgetExhaustedStopsTheOthersAndExitsOne) {
  lifecycle_.max_restarts = 1;
  make({"a", "b"});
  start();
  exit_child(0, exited(1));
  fire();
  take_log();
  exit_child(0, exited(1));  // the second crash in the window: giving up
  EXPECT_EQ(take_log(), (Log{"signal 1 15"}));
  exit_child(1, killed(SIGTERM));
  ASSERT_EQ(exits_.size(), 1u);
  EXPECT_EQ(exits_[0], 1);
  EXPECT_TRUE(gave_up_);
  EXPECT_NE(exit_reason_.find("child a"), std::string::npos) << exit_reason_;
}

TEST_F(ServiceSetTest, TogetherACrashStopsTheOthersAndRestartsTheSetInOrder) {
  make({"core", "datanode"}, GroupPolicy::together);
  start();
  exit_child(1, exited(1));  // the data node crashed
  EXPECT_EQ(take_log(), (Log{"signal 0 15"}));
  exit_child(0, killed(SIGTERM));
  EXPECT_EQ(set_->state(), S::backoff);
  EXPECT_TRUE(reports_.empty());  // a restart, not an upgrade: nothing to report
  fire();
  EXPECT_EQ(take_log(), (Log{"spawn 0 restart", "spawn 1 restart"}));
  EXPECT_EQ(set_->state(), S::running);
  EXPECT_EQ(set_->restarts(0), 1);
  EXPECT_EQ(set_->restarts(1), 1);
}

TEST_F(ServiceSetTest, TogetherShareOneBudget) {
  lifecycle_.max_restarts = 2;
  make({"a", "b"}, GroupPolicy::together);
  start();
  for (std::size_t round = 0; round < 2; ++round) {
    const std::size_t crashed = round % 2;  // each child crashes once: the set's budget counts both
    exit_child(crashed, exited(1));
    exit_child(1 - crashed, killed(SIGTERM));
    fire();
    take_log();
  }
  exit_child(0, exited(1));
  EXPECT_EQ(take_log(), (Log{"signal 1 15"}));
  exit_child(1, killed(SIGTERM));
  ASSERT_EQ(exits_.size(), 1u);
  EXPECT_EQ(exits_[0], 1);
  EXPECT_TRUE(gave_up_);
}

// together: a new version that passed probation ran --healthy-after, every child of it: the
// set's backoff starts afresh, as after any healthy run.
TEST_F(ServiceSetTest, TogetherAPassedUpgradeResetsTheSetsBackoff) {
  make({"a", "b"}, GroupPolicy::together);
  start();
  for (int crash = 0; crash < 2; ++crash) {  // two crashes in a row: the delay doubles
    exit_child(0, exited(1));
    exit_child(1, killed(SIGTERM));
    fire();
  }
  EXPECT_EQ(set_->restart_delay(0), Duration(2000));
  hold_and_switch();
  fire();
  ASSERT_EQ(reports_.back(), SwitchOutcome::passed);
  exit_child(0, exited(1));
  exit_child(1, killed(SIGTERM));
  EXPECT_EQ(set_->state(), S::backoff);
  EXPECT_EQ(set_->restart_delay(0), lifecycle_.backoff_initial);  // jitter factor 1 at 0.5
}

TEST_F(ServiceSetTest, TogetherACleanExitStopsTheSet) {
  make({"a", "b"}, GroupPolicy::together);
  start();
  exit_child(0, exited(0));
  EXPECT_EQ(take_log(), (Log{"signal 1 15"}));
  exit_child(1, killed(SIGTERM));
  ASSERT_EQ(exits_.size(), 1u);
  EXPECT_EQ(exits_[0], 0);  // the first child's status
}

// One upgrade for the set: hold stops every child last first, the switch starts every child on
// the new version, and the set passes once every child passed.
TEST_F(ServiceSetTest, AnUpgradeHoldsSwitchesAndPassesTheWholeSet) {
  make({"a", "b"});
  start();
  on(Kind::hold_requested);
  EXPECT_EQ(take_log(), (Log{"signal 1 15"}));
  exit_child(1, killed(SIGTERM));
  EXPECT_EQ(take_log(), (Log{"signal 0 15"}));
  EXPECT_TRUE(reports_.empty());
  exit_child(0, killed(SIGTERM));
  ASSERT_EQ(reports_, (std::vector<SwitchOutcome>{SwitchOutcome::stopped}));
  EXPECT_EQ(set_->state(), S::held);
  on(Kind::switch_requested);
  EXPECT_EQ(take_log(), (Log{"spawn 0 upgrade", "spawn 1 upgrade"}));
  EXPECT_EQ(set_->state(), S::probation);
  fire();  // both reach healthy-after together
  EXPECT_EQ(reports_, (std::vector<SwitchOutcome>{SwitchOutcome::stopped, SwitchOutcome::passed}));
  EXPECT_EQ(set_->state(), S::running);
}

// independent: a child that ended for good (a clean exit under on-failure) runs no version; an
// upgrade starts the others on the new one, and their probation passes without it.
TEST_F(ServiceSetTest, AnUpgradePassesWhenAChildHadEndedForGood) {
  make({"a", "b", "c"});
  start();
  exit_child(1, exited(0));
  EXPECT_EQ(set_->child_state(1), S::exited);
  on(Kind::hold_requested);
  exit_child(2, killed(SIGTERM));
  exit_child(0, killed(SIGTERM));
  ASSERT_EQ(reports_, (std::vector<SwitchOutcome>{SwitchOutcome::stopped}));
  log_.clear();
  on(Kind::switch_requested);
  EXPECT_EQ(take_log(), (Log{"spawn 0 upgrade", "spawn 2 upgrade"}));
  fire();  // healthy-after of the two that run
  EXPECT_EQ(reports_, (std::vector<SwitchOutcome>{SwitchOutcome::stopped, SwitchOutcome::passed}));
  EXPECT_EQ(set_->state(), S::running);
  exit_child(2, exited(1));  // a later crash is a restart, never a rollback
  EXPECT_EQ(reports_.size(), 2U);
  EXPECT_EQ(set_->child_state(2), S::backoff);
}

TEST_F(ServiceSetTest, ACrashOfOneChildOnProbationRollsBackTheWholeSet) {
  make({"a", "b", "c"});
  start();
  hold_and_switch();
  exit_child(1, exited(2));                     // b's new version dies
  EXPECT_EQ(take_log(), (Log{"signal 2 15"}));  // the others are stopped, last first
  exit_child(2, killed(SIGTERM));
  EXPECT_EQ(take_log(), (Log{"signal 0 15"}));
  exit_child(0, killed(SIGTERM));
  ASSERT_EQ(reports_.back(), SwitchOutcome::rolled_back);
  EXPECT_NE(reasons_.back().find("child b"), std::string::npos) << reasons_.back();
  EXPECT_EQ(set_->state(), S::held);
  for (std::size_t child = 0; child < 3; ++child) EXPECT_EQ(set_->child_state(child), S::held);
  on(Kind::release_requested);  // the manager pointed `current` back
  EXPECT_EQ(take_log(), (Log{"spawn 0 rollback", "spawn 1 rollback", "spawn 2 rollback"}));
}

TEST_F(ServiceSetTest, AChildThatNeverPrintsItsReadyPatternRollsBackTheSet) {
  ready_ = {false, true};
  make({"a", "b"});
  start();
  hold_and_switch();
  EXPECT_TRUE(set_->awaiting_ready(1));
  EXPECT_FALSE(set_->awaiting_ready(0));
  fire();  // a passes; b never printed its line and is stopped
  EXPECT_EQ(take_log(), (Log{"signal 1 15"}));
  exit_child(1, killed(SIGTERM));
  EXPECT_EQ(take_log(), (Log{"signal 0 15"}));
  exit_child(0, killed(SIGTERM));
  ASSERT_EQ(reports_.back(), SwitchOutcome::rolled_back);
  EXPECT_NE(reasons_.back().find("ready-pattern"), std::string::npos) << reasons_.back();
}

TEST_F(ServiceSetTest, AHaltExitOfOneChildHoldsTheOthersAndReportsStoppedOnce) {
  make({"a", "b"});
  start();
  exit_child(0, exited(0), /*halted=*/true);
  EXPECT_EQ(take_log(), (Log{"signal 1 15"}));
  EXPECT_TRUE(reports_.empty());
  exit_child(1, killed(SIGTERM));
  EXPECT_EQ(reports_, (std::vector<SwitchOutcome>{SwitchOutcome::stopped}));
  EXPECT_TRUE(exits_.empty());  // a halt is no crash and ends nothing
  on(Kind::hold_requested);     // the manager's hold crossed the halt: nothing more
  EXPECT_TRUE(take_log().empty());
  EXPECT_EQ(reports_.size(), 1u);
}

TEST_F(ServiceSetTest, AHaltForTheNextPlanDuringProbationPassesTheSet) {
  make({"a", "b"});
  start();
  hold_and_switch();
  exit_child(0, exited(0), /*halted=*/true);
  exit_child(1, killed(SIGTERM));
  EXPECT_EQ(reports_, (std::vector<SwitchOutcome>{SwitchOutcome::stopped, SwitchOutcome::passed,
                                                  SwitchOutcome::stopped}));
}

TEST_F(ServiceSetTest, TogetherAHoldWhileTheSetWaitsToRestartHoldsAtOnce) {
  make({"a", "b"}, GroupPolicy::together);
  start();
  exit_child(0, exited(1));
  exit_child(1, killed(SIGTERM));
  ASSERT_EQ(set_->state(), S::backoff);
  on(Kind::hold_requested);
  EXPECT_EQ(reports_, (std::vector<SwitchOutcome>{SwitchOutcome::stopped}));
  EXPECT_EQ(set_->state(), S::held);
  EXPECT_FALSE(set_->deadline().has_value());  // the restart is called off
}

TEST_F(ServiceSetTest, ASwitchOrHoldThatCannotBeCarriedOutIsDropped) {
  make({"a", "b"});
  start();
  on(Kind::switch_requested);  // not held
  EXPECT_EQ(reports_, (std::vector<SwitchOutcome>{SwitchOutcome::dropped}));
  on(Kind::stop_requested, SIGTERM);
  on(Kind::hold_requested);  // stopping
  EXPECT_EQ(reports_.back(), SwitchOutcome::dropped);
}

TEST_F(ServiceSetTest, AStopWhileHeldExitsWithoutSignals) {
  make({"a", "b"});
  start();
  on(Kind::hold_requested);
  exit_child(1, killed(SIGTERM));
  exit_child(0, killed(SIGTERM));
  take_log();
  on(Kind::stop_requested, SIGINT);
  EXPECT_TRUE(take_log().empty());
  ASSERT_EQ(exits_.size(), 1u);
  EXPECT_EQ(exits_[0], 128 + SIGINT);
}

TEST_F(ServiceSetTest, ACrashedChildWaitingForItsRestartIsHeldByAnUpgrade) {
  make({"a", "b"});
  start();
  exit_child(0, exited(1));
  ASSERT_EQ(set_->child_state(0), S::backoff);
  on(Kind::hold_requested);
  EXPECT_EQ(take_log(), (Log{"signal 1 15"}));
  exit_child(1, killed(SIGTERM));
  EXPECT_EQ(reports_, (std::vector<SwitchOutcome>{SwitchOutcome::stopped}));
  EXPECT_EQ(set_->child_state(0), S::held);
  EXPECT_FALSE(set_->deadline().has_value());  // no restart of the old version is pending
}

TEST_F(ServiceSetTest, ResumedSwitchStartsEveryChildOnProbation) {
  make({"a", "b"});
  feed({LifecycleEvent{Kind::start, {}, 0, /*upgrade_start=*/true}, 0});
  EXPECT_EQ(take_log(), (Log{"spawn 0 upgrade", "spawn 1 upgrade"}));
  EXPECT_EQ(set_->state(), S::probation);
  fire();
  EXPECT_EQ(reports_, (std::vector<SwitchOutcome>{SwitchOutcome::passed}));
}

// A set of one is the Lifecycle: the same actions, reports and exit codes.
TEST_F(ServiceSetTest, ASetOfOneBehavesAsItsLifecycle) {
  make({"lavap"});
  start();
  exit_child(0, exited(1));
  EXPECT_EQ(set_->state(), S::backoff);
  fire();
  EXPECT_EQ(take_log(), (Log{"spawn 0 restart"}));
  on(Kind::hold_requested);
  EXPECT_EQ(set_->state(), S::upgrading);
  exit_child(0, killed(SIGTERM));
  EXPECT_EQ(set_->state(), S::held);
  on(Kind::switch_requested);
  exit_child(0, exited(1));
  ASSERT_EQ(reports_.size(), 2u);
  EXPECT_EQ(reports_[1], SwitchOutcome::rolled_back);
  EXPECT_EQ(reasons_[1].rfind("exited with", 0), 0u) << reasons_[1];  // no child prefix
  on(Kind::release_requested);
  on(Kind::stop_requested, SIGTERM);
  exit_child(0, killed(SIGTERM));
  ASSERT_EQ(exits_.size(), 1u);
  EXPECT_EQ(exits_[0], 128 + SIGTERM);
  EXPECT_EQ(exit_reason_.rfind("child stopped with", 0), 0u) << exit_reason_;
}

TEST(UpgradeArguments, TheSnapshotFlagGoesToTheCoreNotToTheVegaDataNode) {
  Options options;
  options.profile = "vega";
  options.upgrade_args = {"--snapshot.load-from-block-height", "{height}"};
  ChildSpec core;
  core.name = "core";
  core.command = {"vega", "start", "--home", "/srv/vega"};
  ChildSpec datanode;
  datanode.name = "datanode";
  datanode.command = {"vega", "datanode", "start"};
  options.children = {core, datanode};
  EXPECT_EQ(fill_upgrade_args(upgrade_args_for(options, 0), "0.80.0", "12345"),
            (std::vector<std::string>{"--snapshot.load-from-block-height", "12345"}));
  EXPECT_TRUE(fill_upgrade_args(upgrade_args_for(options, 1), "0.80.0", "12345").empty());
}

TEST(UpgradeArguments, EveryPlaceholderIsFilledAndAnUnknownHeightIsEmpty) {
  EXPECT_EQ(fill_upgrade_args({"--to={version}", "{version}-{version}", "{height}"}, "2.0.0", ""),
            (std::vector<std::string>{"--to=2.0.0", "2.0.0-2.0.0", ""}));
}

// A hold (an upgrade) that comes while a child's restart waits for its arguments (the core's
// history segment, asked off the event loop): the waiting child is held at once, the children
// after it are not started, and the switch then starts every child on the new version.
TEST_F(ServiceSetTest, AHoldWhileAChildsStartWaitsHoldsTheSetAndTheSwitchStartsEveryChild) {
  make({"core", "datanode"}, GroupPolicy::together);
  start();
  exit_child(0, exited(1));  // together: the set stops and restarts
  exit_child(1, killed(SIGTERM));
  ASSERT_EQ(set_->state(), S::backoff);
  take_log();
  defer_spawns_ = true;
  fire();
  EXPECT_EQ(take_log(), (std::vector<std::string>{"spawn 0 restart"}));
  on(Kind::hold_requested);
  EXPECT_EQ(reports_, (std::vector<SwitchOutcome>{SwitchOutcome::stopped}));
  EXPECT_EQ(set_->state(), S::held);
  EXPECT_EQ(set_->child_state(0), S::held);
  EXPECT_TRUE(take_log().empty()) << "nothing was running to signal, nothing more started";
  defer_spawns_ = false;
  on(Kind::switch_requested);
  EXPECT_EQ(take_log(), (std::vector<std::string>{"spawn 0 upgrade", "spawn 1 upgrade"}));
  EXPECT_EQ(set_->state(), S::probation);
}

}  // namespace
}  // namespace visor
