#include "visor/process/lifecycle.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <csignal>

namespace visor {
namespace {

using Kind = LifecycleEvent::Kind;
using Do = LifecycleAction::Kind;
using S = LifecycleState;

ExitStatus exited(int code) { return ExitStatus{code << 8}; }
ExitStatus killed(int signal_number) { return ExitStatus{signal_number}; }

class LifecycleTest : public ::testing::Test {
 protected:
  LifecycleTest() { make(); }

  void make() {
    lifecycle_ = std::make_unique<Lifecycle>(policy_, clock_, [this] { return random_; });
  }
  std::vector<LifecycleAction> on(Kind kind, ExitStatus status = {}, int signal_number = 0) {
    return lifecycle_->handle({kind, status, signal_number});
  }
  // start -> spawned: the child runs.
  void run_child() {
    auto actions = on(Kind::start);
    ASSERT_EQ(actions.size(), 1u);
    EXPECT_EQ(actions[0].kind, Do::spawn);
    EXPECT_TRUE(on(Kind::spawned).empty());
    EXPECT_EQ(lifecycle_->state(), S::running);
  }
  // Fires the armed deadline after moving the clock to it.
  std::vector<LifecycleAction> fire() {
    EXPECT_TRUE(lifecycle_->deadline().has_value());
    clock_.advance(std::chrono::duration_cast<Duration>(*lifecycle_->deadline() - clock_.now()));
    return on(Kind::deadline);
  }

  LifecyclePolicy policy_;
  FakeClock clock_;
  double random_ = 0.5;  // no jitter
  std::unique_ptr<Lifecycle> lifecycle_;
};

TEST_F(LifecycleTest, CleanExitWithOnFailureEndsVisorWithCodeZero) {
  run_child();
  auto actions = on(Kind::child_exited, exited(0));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Do::exit);
  EXPECT_EQ(actions[0].value, 0);
  EXPECT_EQ(lifecycle_->state(), S::exited);
}

TEST_F(LifecycleTest, RestartNeverPassesTheChildsStatusThrough) {
  policy_.restart = RestartPolicy::never;
  make();
  run_child();
  auto actions = on(Kind::child_exited, killed(SIGKILL));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].value, 137);
}

TEST_F(LifecycleTest, CrashBacksOffThenRestarts) {
  run_child();
  EXPECT_TRUE(on(Kind::child_exited, exited(3)).empty());
  EXPECT_EQ(lifecycle_->state(), S::backoff);
  EXPECT_EQ(*lifecycle_->deadline() - clock_.now(), Duration(1000));
  auto actions = fire();
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Do::spawn);
  EXPECT_FALSE(actions[0].upgrade_start);
  EXPECT_EQ(lifecycle_->state(), S::starting);
}

TEST_F(LifecycleTest, AlwaysRestartsEvenAfterACleanExit) {
  policy_.restart = RestartPolicy::always;
  make();
  run_child();
  EXPECT_TRUE(on(Kind::child_exited, exited(0)).empty());
  EXPECT_EQ(lifecycle_->state(), S::backoff);
}

TEST_F(LifecycleTest, DelaysDoubleWhileCrashingAndResetAfterHealthyRunning) {
  policy_.backoff_max = Duration(3000);
  make();
  run_child();
  std::vector<Duration> delays;
  for (int crash = 0; crash < 4; ++crash) {
    on(Kind::child_exited, exited(1));
    delays.push_back(lifecycle_->last_delay());
    fire();
    on(Kind::spawned);
  }
  EXPECT_EQ(delays, (std::vector<Duration>{Duration(1000), Duration(2000), Duration(3000),
                                           Duration(3000)}));
  // Running for --healthy-after resets the sequence.
  EXPECT_TRUE(fire().empty());
  EXPECT_EQ(lifecycle_->consecutive_failures(), 0);
  on(Kind::child_exited, exited(1));
  EXPECT_EQ(lifecycle_->last_delay(), Duration(1000));
}

TEST_F(LifecycleTest, JitterIsApplied) {
  random_ = 0.0;
  make();
  run_child();
  on(Kind::child_exited, exited(1));
  EXPECT_EQ(lifecycle_->last_delay(), Duration(800));
}

TEST_F(LifecycleTest, GivesUpOnTheCrashBeyondMaxRestarts) {
  policy_.max_restarts = 4;
  policy_.restart_window = Duration(600000);
  make();
  run_child();
  for (int crash = 1; crash <= 4; ++crash) {
    EXPECT_TRUE(on(Kind::child_exited, exited(1)).empty()) << crash;
    fire();
    on(Kind::spawned);
  }
  auto actions = on(Kind::child_exited, exited(1));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Do::exit);
  EXPECT_EQ(actions[0].value, 1);
  EXPECT_NE(actions[0].reason.find("giving up"), std::string::npos);
  EXPECT_EQ(lifecycle_->restarts(), 4);
}

TEST_F(LifecycleTest, StopForwardsTheSignalThenKillsAfterTheTimeout) {
  run_child();
  auto actions = on(Kind::stop_requested, {}, SIGINT);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Do::signal_child);
  EXPECT_EQ(actions[0].value, SIGINT);
  EXPECT_EQ(lifecycle_->state(), S::stopping);
  EXPECT_EQ(*lifecycle_->deadline() - clock_.now(), policy_.stop_timeout);
  actions = fire();
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Do::kill_group);
  actions = on(Kind::child_exited, killed(SIGKILL));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Do::exit);
  EXPECT_EQ(actions[0].value, 137);
}

TEST_F(LifecycleTest, StopDuringBackoffExitsAtOnce) {
  run_child();
  on(Kind::child_exited, exited(5));
  auto actions = on(Kind::stop_requested, {}, SIGTERM);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Do::exit);
  EXPECT_EQ(actions[0].value, 5);
}

// hold -> the child stops -> held (reported) -> switch -> probation -> passed.
TEST_F(LifecycleTest, UpgradeHoldsThenStartsTheNewVersionOnProbation) {
  run_child();
  auto actions = on(Kind::hold_requested);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Do::signal_child);
  EXPECT_EQ(actions[0].value, policy_.stop_signal);
  EXPECT_EQ(lifecycle_->state(), S::upgrading);
  actions = on(Kind::child_exited, killed(SIGTERM));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Do::report);
  EXPECT_EQ(actions[0].outcome, SwitchOutcome::stopped);
  EXPECT_EQ(lifecycle_->state(), S::held);
  EXPECT_FALSE(lifecycle_->deadline().has_value()) << "nothing restarts a held child";
  actions = on(Kind::switch_requested);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Do::spawn);
  EXPECT_TRUE(actions[0].upgrade_start);
  on(Kind::spawned);
  EXPECT_EQ(lifecycle_->state(), S::probation);
  actions = fire();
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Do::report);
  EXPECT_EQ(actions[0].outcome, SwitchOutcome::passed);
  EXPECT_EQ(lifecycle_->state(), S::running);
}

TEST_F(LifecycleTest, NewVersionExitingOnProbationIsRolledBackAndHeld) {
  run_child();
  on(Kind::hold_requested);
  on(Kind::child_exited, exited(0));
  on(Kind::switch_requested);
  on(Kind::spawned);
  clock_.advance(Duration(2000));
  auto actions = on(Kind::child_exited, exited(1));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Do::report);
  EXPECT_EQ(actions[0].outcome, SwitchOutcome::rolled_back);
  EXPECT_NE(actions[0].reason.find("exit code 1 after 2000ms"), std::string::npos);
  EXPECT_EQ(lifecycle_->state(), S::held);
  actions = on(Kind::release_requested);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Do::spawn);
  EXPECT_FALSE(actions[0].upgrade_start);
  on(Kind::spawned);
  EXPECT_EQ(lifecycle_->state(), S::running);
}

TEST_F(LifecycleTest, AHaltExitIsNoCrashAndIsHeld) {
  run_child();
  LifecycleEvent halt{Kind::child_exited, exited(0)};
  halt.halted = true;
  auto actions = lifecycle_->handle(halt);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].outcome, SwitchOutcome::stopped);
  EXPECT_EQ(lifecycle_->state(), S::held);
  EXPECT_EQ(lifecycle_->restarts(), 0);
  EXPECT_EQ(lifecycle_->consecutive_failures(), 0);
}

TEST_F(LifecycleTest, AHaltForTheNextPlanOnProbationPasses) {
  run_child();
  on(Kind::hold_requested);
  on(Kind::child_exited, exited(0));
  on(Kind::switch_requested);
  on(Kind::spawned);
  LifecycleEvent halt{Kind::child_exited, exited(0)};
  halt.halted = true;
  auto actions = lifecycle_->handle(halt);
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].outcome, SwitchOutcome::passed);
  EXPECT_EQ(actions[1].outcome, SwitchOutcome::stopped);
  EXPECT_EQ(lifecycle_->state(), S::held);
}

TEST_F(LifecycleTest, AHoldOnProbationPassesThenStops) {
  run_child();
  on(Kind::hold_requested);
  on(Kind::child_exited, exited(0));
  on(Kind::switch_requested);
  on(Kind::spawned);
  auto actions = on(Kind::hold_requested);
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].outcome, SwitchOutcome::passed);
  EXPECT_EQ(actions[1].kind, Do::signal_child);
  EXPECT_EQ(lifecycle_->state(), S::upgrading);
}

TEST_F(LifecycleTest, ReadyPatternMustAppearBeforeProbationEnds) {
  policy_.require_ready = true;
  make();
  run_child();
  on(Kind::hold_requested);
  on(Kind::child_exited, exited(0));
  on(Kind::switch_requested);
  on(Kind::spawned);
  auto actions = fire();
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Do::signal_child);
  EXPECT_EQ(lifecycle_->state(), S::rolling_back);
  actions = on(Kind::child_exited, killed(SIGTERM));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].outcome, SwitchOutcome::rolled_back);
  EXPECT_EQ(actions[0].reason, "never printed the --ready-pattern line");
  EXPECT_EQ(lifecycle_->state(), S::held);
}

TEST_F(LifecycleTest, ReadyPatternSeenCommitsAtTheDeadline) {
  policy_.require_ready = true;
  make();
  run_child();
  on(Kind::hold_requested);
  on(Kind::child_exited, exited(0));
  on(Kind::switch_requested);
  on(Kind::spawned);
  EXPECT_TRUE(lifecycle_->awaiting_ready());
  on(Kind::ready_seen);
  EXPECT_FALSE(lifecycle_->awaiting_ready()) << "seen once is enough";
  auto actions = fire();
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].outcome, SwitchOutcome::passed);
  EXPECT_FALSE(lifecycle_->awaiting_ready()) << "a committed version is not scanned";
}

// The output is scanned only for a new version on probation: never for a first start or a
// restart after a crash, and never without --ready-pattern.
TEST_F(LifecycleTest, OnlyANewVersionOnProbationAwaitsTheReadyPattern) {
  policy_.require_ready = true;
  make();
  run_child();
  EXPECT_FALSE(lifecycle_->awaiting_ready());
  on(Kind::child_exited, exited(1));
  EXPECT_FALSE(lifecycle_->awaiting_ready());
  fire();
  on(Kind::spawned);
  EXPECT_FALSE(lifecycle_->awaiting_ready()) << "a restart after a crash";

  policy_.require_ready = false;
  make();
  run_child();
  on(Kind::hold_requested);
  on(Kind::child_exited, exited(0));
  on(Kind::switch_requested);
  on(Kind::spawned);
  EXPECT_EQ(lifecycle_->state(), S::probation);
  EXPECT_FALSE(lifecycle_->awaiting_ready()) << "no --ready-pattern";
}

TEST_F(LifecycleTest, HoldDuringBackoffCancelsTheRestart) {
  run_child();
  on(Kind::child_exited, exited(1));
  auto actions = on(Kind::hold_requested);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].outcome, SwitchOutcome::stopped);
  EXPECT_EQ(lifecycle_->state(), S::held);
  EXPECT_FALSE(lifecycle_->deadline().has_value());
}

TEST_F(LifecycleTest, StopDuringUpgradeBecomesAPlainStop) {
  run_child();
  on(Kind::hold_requested);
  auto actions = on(Kind::stop_requested, {}, SIGTERM);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Do::signal_child);
  actions = on(Kind::child_exited, killed(SIGTERM));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Do::exit);
  EXPECT_EQ(actions[0].value, 128 + SIGTERM);
}

TEST_F(LifecycleTest, StopWhileHeldExitsAtOnce) {
  run_child();
  on(Kind::hold_requested);
  on(Kind::child_exited, killed(SIGTERM));
  auto actions = on(Kind::stop_requested, {}, SIGTERM);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Do::exit);
  EXPECT_EQ(actions[0].value, 128 + SIGTERM);
}

TEST_F(LifecycleTest, FailedExecIsACrash) {
  on(Kind::start);
  EXPECT_TRUE(on(Kind::spawn_failed, exited(127)).empty());
  EXPECT_EQ(lifecycle_->state(), S::backoff);
}

TEST_F(LifecycleTest, FailedExecOfANewVersionRollsBack) {
  run_child();
  on(Kind::hold_requested);
  on(Kind::child_exited, exited(0));
  on(Kind::switch_requested);
  auto actions = on(Kind::spawn_failed, exited(126));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].outcome, SwitchOutcome::rolled_back);
  EXPECT_EQ(lifecycle_->state(), S::held);
}

// A hold that comes while the child is being started (its spawn waits for arguments, such as
// Vega's history segment) holds at once: nothing runs, and the late spawn result is not asked
// for (the Supervisor spawns nothing once the lifecycle left starting).
TEST_F(LifecycleTest, AHoldWhileStartingHoldsAtOnce) {
  run_child();
  on(Kind::child_exited, exited(3));
  ASSERT_EQ(fire().at(0).kind, Do::spawn);
  ASSERT_EQ(lifecycle_->state(), S::starting);
  auto actions = on(Kind::hold_requested);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].outcome, SwitchOutcome::stopped);
  EXPECT_EQ(lifecycle_->state(), S::held);
  EXPECT_FALSE(lifecycle_->deadline().has_value());
  actions = on(Kind::release_requested);  // started again as usual
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Do::spawn);
}

// Nothing can wedge the upgrade manager: a request that cannot be carried out says so.
TEST_F(LifecycleTest, RequestsThatCannotBeCarriedOutAreDropped) {
  run_child();
  auto actions = on(Kind::switch_requested);
  ASSERT_EQ(actions.size(), 1u) << "a switch needs a held child";
  EXPECT_EQ(actions[0].outcome, SwitchOutcome::dropped);
  on(Kind::stop_requested, {}, SIGTERM);
  actions = on(Kind::hold_requested);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].outcome, SwitchOutcome::dropped);
  EXPECT_EQ(lifecycle_->state(), S::stopping);
}

}  // namespace
}  // namespace visor

namespace visor {
namespace {

TEST(LifecycleResume, AStartAsUpgradeBeginsOnProbation) {
  FakeClock clock;
  Lifecycle lifecycle(LifecyclePolicy{}, clock, [] { return 0.5; });
  LifecycleEvent start{LifecycleEvent::Kind::start};
  start.upgrade_start = true;
  auto actions = lifecycle.handle(start);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_TRUE(actions[0].upgrade_start);
  lifecycle.handle({LifecycleEvent::Kind::spawned});
  EXPECT_EQ(lifecycle.state(), LifecycleState::probation);
}

}  // namespace
}  // namespace visor
