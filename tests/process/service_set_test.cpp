#include "visor/process/service_set.h"

#include <gtest/gtest.h>

#include <csignal>
#include <memory>

namespace visor {
namespace {

using Kind = SetEvent::Kind;
using Do = SetAction::Kind;
using S = SetState;
using C = ChildState;

ExitStatus exited(int code) { return ExitStatus{code << 8}; }
ExitStatus killed(int signal_number) { return ExitStatus{signal_number}; }

// Drives a ServiceSet the way the Supervisor will: spawn actions are answered with `spawned`
// at once (unless a test says otherwise), and every action is recorded for assertions.
class ServiceSetTest : public ::testing::Test {
 protected:
  ServiceSetTest() {
    policy_.restart.backoff_initial = Duration(1000);
    policy_.restart.backoff_max = Duration(8000);
    policy_.restart.healthy_after = Duration(10000);
    policy_.restart.stop_timeout = Duration(5000);
    policy_.restart.max_restarts = 3;
    policy_.restart.restart_window = Duration(600000);
    policy_.children = {{"core", false}, {"datanode", false}, {"third", false}};
  }

  void make() {
    set_ = std::make_unique<ServiceSet>(policy_, clock_, [this] { return random_; });
  }

  // Applies an event and answers every spawn with `spawned` (as a real fork/exec would),
  // collecting all actions in order.
  std::vector<SetAction> on(SetEvent event) {
    std::vector<SetAction> all;
    std::vector<SetEvent> queue{event};
    while (!queue.empty()) {
      const SetEvent next = queue.front();
      queue.erase(queue.begin());
      for (const auto& action : set_->handle(next)) {
        all.push_back(action);
        if (action.kind == Do::spawn && auto_spawn_) {
          queue.push_back({Kind::spawned, action.child, {}, 0});
        }
      }
    }
    return all;
  }
  std::vector<SetAction> exit_of(std::size_t child, ExitStatus status) {
    return on({Kind::child_exited, child, status, 0});
  }
  // Moves the clock to the armed deadline and reports it.
  std::vector<SetAction> fire() {
    EXPECT_TRUE(set_->deadline().has_value());
    if (!set_->deadline()) return {};
    clock_.advance(std::chrono::duration_cast<Duration>(*set_->deadline() - clock_.now()));
    return on({Kind::deadline, 0, {}, 0});
  }
  void start_all() {
    auto actions = on({Kind::start, 0, {}, 0});
    ASSERT_EQ(spawn_order(actions), (std::vector<std::size_t>{0, 1, 2}));
    ASSERT_EQ(actions.back().kind, Do::all_started);
    ASSERT_EQ(set_->state(), S::running);
  }
  static std::vector<std::size_t> spawn_order(const std::vector<SetAction>& actions) {
    std::vector<std::size_t> order;
    for (const auto& action : actions) {
      if (action.kind == Do::spawn) order.push_back(action.child);
    }
    return order;
  }
  static std::vector<std::size_t> signalled(const std::vector<SetAction>& actions) {
    std::vector<std::size_t> order;
    for (const auto& action : actions) {
      if (action.kind == Do::signal_child) order.push_back(action.child);
    }
    return order;
  }
  static const SetAction* find(const std::vector<SetAction>& actions, Do kind) {
    for (const auto& action : actions) {
      if (action.kind == kind) return &action;
    }
    return nullptr;
  }

  SetPolicy policy_;
  FakeClock clock_;
  double random_ = 0.5;  // no jitter
  bool auto_spawn_ = true;
  std::unique_ptr<ServiceSet> set_;
};

TEST_F(ServiceSetTest, StartsInListOrderEachAfterTheLastIsSpawned) {
  auto_spawn_ = false;
  make();
  auto actions = on({Kind::start, 0, {}, 0});
  ASSERT_EQ(spawn_order(actions), std::vector<std::size_t>{0});
  EXPECT_EQ(actions[0].spawn_reason, SpawnReason::first_start);
  EXPECT_EQ(set_->child_state(1), C::idle);
  EXPECT_EQ(spawn_order(on({Kind::spawned, 0, {}, 0})), std::vector<std::size_t>{1});
  EXPECT_EQ(spawn_order(on({Kind::spawned, 1, {}, 0})), std::vector<std::size_t>{2});
  actions = on({Kind::spawned, 2, {}, 0});
  ASSERT_EQ(actions.size(), 1U);
  EXPECT_EQ(actions[0].kind, Do::all_started);
  EXPECT_TRUE(set_->all_running());
}

TEST_F(ServiceSetTest, PlannedStopGoesInReverseOneAtATimeAndExitsWithTheFirstChildsStatus) {
  make();
  start_all();
  auto actions = on({Kind::stop_requested, 0, {}, SIGTERM});
  EXPECT_EQ(signalled(actions), std::vector<std::size_t>{2});
  EXPECT_EQ(actions[0].value, SIGTERM);
  EXPECT_EQ(set_->child_state(1), C::running);  // not signalled before the last has exited
  EXPECT_EQ(signalled(exit_of(2, killed(SIGTERM))), std::vector<std::size_t>{1});
  // The middle child ignores the signal: SIGKILL after the stop timeout, then the first.
  clock_.advance(Duration(4999));
  EXPECT_TRUE(on({Kind::deadline, 0, {}, 0}).empty());
  actions = fire();
  ASSERT_EQ(actions.size(), 1U);
  EXPECT_EQ(actions[0].kind, Do::kill_group);
  EXPECT_EQ(actions[0].child, 1U);
  EXPECT_EQ(set_->child_state(0), C::running);
  EXPECT_EQ(signalled(exit_of(1, killed(SIGKILL))), std::vector<std::size_t>{0});
  actions = exit_of(0, exited(3));
  ASSERT_EQ(actions.size(), 1U);
  EXPECT_EQ(actions[0].kind, Do::exit);
  EXPECT_EQ(actions[0].value, 3);  // the first child's status, not the last one's
  EXPECT_EQ(set_->state(), S::exited);
}

TEST_F(ServiceSetTest, ForwardedSignalsGoToEveryChildAtOnce) {
  make();
  start_all();
  auto actions = on({Kind::forward_signal, 0, {}, SIGHUP});
  EXPECT_EQ(signalled(actions), (std::vector<std::size_t>{0, 1, 2}));
  for (const auto& action : actions) EXPECT_EQ(action.value, SIGHUP);
  EXPECT_EQ(set_->state(), S::running);
}

TEST_F(ServiceSetTest, IndependentChildRestartsAloneOnItsOwnBackoff) {
  make();
  start_all();
  EXPECT_TRUE(exit_of(1, exited(1)).empty());  // the others are not touched
  EXPECT_EQ(set_->child_state(1), C::backoff);
  EXPECT_EQ(set_->child_state(0), C::running);
  EXPECT_EQ(set_->child_state(2), C::running);
  EXPECT_EQ(*set_->deadline() - clock_.now(), Duration(1000));
  auto actions = fire();
  ASSERT_EQ(spawn_order(actions), std::vector<std::size_t>{1});
  EXPECT_EQ(actions[0].spawn_reason, SpawnReason::restart);
  EXPECT_EQ(set_->restarts(1), 1);
  EXPECT_EQ(set_->restarts(0), 0);
  // A second crash soon after doubles that child's delay only.
  exit_of(1, exited(1));
  EXPECT_EQ(*set_->deadline() - clock_.now(), Duration(2000));
  exit_of(2, exited(1));
  EXPECT_EQ(*set_->deadline() - clock_.now(), Duration(1000));  // child 2's first backoff
}

TEST_F(ServiceSetTest, IndependentChildNotRestartedLeavesTheOthersRunningUntilNoneIsLeft) {
  make();
  start_all();
  EXPECT_TRUE(exit_of(0, exited(0)).empty());  // clean exit with on-failure
  EXPECT_EQ(set_->child_state(0), C::exited);
  EXPECT_EQ(set_->state(), S::running);
  EXPECT_TRUE(exit_of(2, exited(0)).empty());
  auto actions = exit_of(1, exited(0));
  ASSERT_EQ(actions.size(), 1U);
  EXPECT_EQ(actions[0].kind, Do::exit);
  EXPECT_EQ(actions[0].value, 0);
}

TEST_F(ServiceSetTest, ExhaustedBudgetStopsTheOthersAndExitsOne) {
  make();
  start_all();
  for (int crash = 0; crash < 3; ++crash) {
    exit_of(2, exited(1));
    fire();  // the restart
  }
  auto actions = exit_of(2, exited(1));  // the fourth crash: more than --max-restarts 3
  EXPECT_EQ(signalled(actions), std::vector<std::size_t>{1});
  EXPECT_EQ(signalled(exit_of(1, killed(SIGTERM))), std::vector<std::size_t>{0});
  actions = exit_of(0, killed(SIGTERM));
  ASSERT_EQ(actions.size(), 1U);
  EXPECT_EQ(actions[0].kind, Do::exit);
  EXPECT_EQ(actions[0].value, 1);
  EXPECT_NE(actions[0].reason.find("giving up: child third"), std::string::npos);
}

TEST_F(ServiceSetTest, HealthyRunResetsOneChildsBackoff) {
  make();
  start_all();
  exit_of(0, exited(1));
  fire();
  clock_.advance(Duration(10000));  // child 0 ran healthy; the others' marks passed long ago
  on({Kind::deadline, 0, {}, 0});
  exit_of(0, exited(1));
  EXPECT_EQ(*set_->deadline() - clock_.now(), Duration(1000));
}

TEST_F(ServiceSetTest, TogetherAnUnplannedExitStopsTheOthersAndTheSetRestartsTogether) {
  policy_.group = GroupPolicy::together;
  make();
  start_all();
  auto actions = exit_of(1, killed(SIGSEGV));
  EXPECT_EQ(signalled(actions), std::vector<std::size_t>{2});  // reverse order, skipping 1
  EXPECT_EQ(signalled(exit_of(2, killed(SIGTERM))), std::vector<std::size_t>{0});
  actions = exit_of(0, killed(SIGTERM));
  EXPECT_TRUE(actions.empty());
  EXPECT_EQ(set_->state(), S::backoff);
  EXPECT_EQ(*set_->deadline() - clock_.now(), Duration(1000));
  actions = fire();
  EXPECT_EQ(spawn_order(actions), (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(actions.front().spawn_reason, SpawnReason::restart);
  EXPECT_EQ(set_->state(), S::running);
  for (std::size_t child = 0; child < 3; ++child) EXPECT_EQ(set_->restarts(child), 1);
  // One backoff for the set: a crash of another child doubles the same delay.
  exit_of(0, exited(2));
  exit_of(2, killed(SIGTERM));
  exit_of(1, killed(SIGTERM));
  EXPECT_EQ(set_->state(), S::backoff);
  EXPECT_EQ(*set_->deadline() - clock_.now(), Duration(2000));
}

TEST_F(ServiceSetTest, TogetherOneBudgetForTheSet) {
  policy_.group = GroupPolicy::together;
  policy_.children = {{"core", false}, {"datanode", false}};
  make();
  auto actions = on({Kind::start, 0, {}, 0});
  for (int crash = 0; crash < 3; ++crash) {
    exit_of(crash % 2, exited(1));  // crashes of different children count in one budget
    exit_of(1 - crash % 2, killed(SIGTERM));
    fire();
  }
  actions = exit_of(0, exited(1));
  EXPECT_EQ(signalled(actions), std::vector<std::size_t>{1});
  actions = exit_of(1, killed(SIGTERM));
  ASSERT_EQ(actions.size(), 1U);
  EXPECT_EQ(actions[0].kind, Do::exit);
  EXPECT_EQ(actions[0].value, 1);
}

TEST_F(ServiceSetTest, TogetherAnExitThePolicyDoesNotRestartStopsTheSet) {
  policy_.group = GroupPolicy::together;
  make();
  start_all();
  auto actions = exit_of(1, exited(0));
  EXPECT_EQ(signalled(actions), std::vector<std::size_t>{2});
  exit_of(2, killed(SIGTERM));
  actions = exit_of(0, exited(0));
  ASSERT_EQ(actions.size(), 1U);
  EXPECT_EQ(actions[0].kind, Do::exit);
  EXPECT_EQ(actions[0].value, 0);
}

TEST_F(ServiceSetTest, UpgradeStopsAllSwitchesOnceStartsAllWithUpgradeArgsAndCommits) {
  make();
  start_all();
  auto actions = on({Kind::upgrade_requested, 0, {}, 0});
  EXPECT_EQ(signalled(actions), std::vector<std::size_t>{2});
  exit_of(2, killed(SIGTERM));
  EXPECT_EQ(find(exit_of(1, killed(SIGTERM)), Do::switch_to_upgrade), nullptr);
  actions = exit_of(0, killed(SIGTERM));
  ASSERT_FALSE(actions.empty());
  EXPECT_EQ(actions[0].kind, Do::switch_to_upgrade);  // once, before any new child starts
  int switches = 0;
  for (const auto& action : actions) switches += action.kind == Do::switch_to_upgrade;
  EXPECT_EQ(switches, 1);
  EXPECT_EQ(spawn_order(actions), (std::vector<std::size_t>{0, 1, 2}));
  for (const auto& action : actions) {
    if (action.kind == Do::spawn) {
      EXPECT_EQ(action.spawn_reason, SpawnReason::upgrade);
    }
  }
  EXPECT_EQ(set_->state(), S::probation);
  actions = fire();
  ASSERT_EQ(actions.size(), 1U);
  EXPECT_EQ(actions[0].kind, Do::commit_upgrade);
  EXPECT_EQ(set_->state(), S::running);
}

TEST_F(ServiceSetTest, OneChildFailingProbationRollsBackTheWholeSet) {
  make();
  start_all();
  on({Kind::upgrade_requested, 0, {}, 0});
  exit_of(2, killed(SIGTERM));
  exit_of(1, killed(SIGTERM));
  exit_of(0, killed(SIGTERM));
  ASSERT_EQ(set_->state(), S::probation);
  clock_.advance(Duration(3000));
  auto actions = exit_of(1, exited(1));  // the new version crashes in one child
  ASSERT_FALSE(actions.empty());
  EXPECT_EQ(actions[0].kind, Do::roll_back);
  EXPECT_NE(actions[0].reason.find("datanode"), std::string::npos);
  EXPECT_EQ(signalled(actions), std::vector<std::size_t>{2});  // the others are stopped too
  EXPECT_EQ(signalled(exit_of(2, killed(SIGTERM))), std::vector<std::size_t>{0});
  actions = exit_of(0, killed(SIGTERM));
  EXPECT_EQ(spawn_order(actions), (std::vector<std::size_t>{0, 1, 2}));
  for (const auto& action : actions) {
    if (action.kind == Do::spawn) {
      EXPECT_EQ(action.spawn_reason, SpawnReason::rollback);
    }
  }
  EXPECT_EQ(find(actions, Do::switch_to_upgrade), nullptr);
  EXPECT_EQ(set_->state(), S::running);
}

TEST_F(ServiceSetTest, ProbationNeedsTheReadyLineOfEveryChildThatHasAPattern) {
  policy_.children = {{"core", true}, {"datanode", true}, {"third", false}};
  make();
  start_all();
  on({Kind::upgrade_requested, 0, {}, 0});
  exit_of(2, killed(SIGTERM));
  exit_of(1, killed(SIGTERM));
  exit_of(0, killed(SIGTERM));
  EXPECT_TRUE(set_->awaiting_ready(0));
  EXPECT_FALSE(set_->awaiting_ready(2));
  on({Kind::ready_seen, 0, {}, 0});
  EXPECT_FALSE(set_->awaiting_ready(0));
  auto actions = fire();  // datanode never printed its line
  ASSERT_FALSE(actions.empty());
  EXPECT_EQ(actions[0].kind, Do::roll_back);
  EXPECT_NE(actions[0].reason.find("datanode never printed"), std::string::npos);
  EXPECT_EQ(signalled(actions), std::vector<std::size_t>{2});
}

TEST_F(ServiceSetTest, ANewVersionThatCannotStartInOneChildRollsBackTheSet) {
  make();
  start_all();
  on({Kind::upgrade_requested, 0, {}, 0});
  exit_of(2, killed(SIGTERM));
  exit_of(1, killed(SIGTERM));
  auto_spawn_ = false;
  auto actions = exit_of(0, killed(SIGTERM));
  ASSERT_EQ(spawn_order(actions), std::vector<std::size_t>{0});
  EXPECT_EQ(spawn_order(on({Kind::spawned, 0, {}, 0})), std::vector<std::size_t>{1});
  actions = on({Kind::spawn_failed, 1, exited(127), 0});
  ASSERT_FALSE(actions.empty());
  EXPECT_EQ(actions[0].kind, Do::roll_back);
  EXPECT_EQ(signalled(actions), std::vector<std::size_t>{0});
  auto_spawn_ = true;
  actions = exit_of(0, killed(SIGTERM));
  EXPECT_EQ(spawn_order(actions), (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(set_->state(), S::running);
}

TEST_F(ServiceSetTest, TermDuringAnUpgradeStopTurnsIntoAPlainStop) {
  make();
  start_all();
  on({Kind::upgrade_requested, 0, {}, 0});
  auto actions = on({Kind::stop_requested, 0, {}, SIGINT});
  ASSERT_EQ(actions.size(), 1U);
  EXPECT_EQ(actions[0].child, 2U);
  EXPECT_EQ(actions[0].value, SIGINT);
  exit_of(2, killed(SIGINT));
  exit_of(1, killed(SIGINT));
  actions = exit_of(0, killed(SIGINT));
  ASSERT_EQ(actions.size(), 1U);
  EXPECT_EQ(actions[0].kind, Do::exit);
  EXPECT_EQ(actions[0].value, 128 + SIGINT);
}

TEST_F(ServiceSetTest, UpgradeWhileTheSetWaitsToRestartStartsTheNewVersionAtOnce) {
  policy_.group = GroupPolicy::together;
  make();
  start_all();
  exit_of(0, exited(1));
  exit_of(2, killed(SIGTERM));
  exit_of(1, killed(SIGTERM));
  ASSERT_EQ(set_->state(), S::backoff);
  auto actions = on({Kind::upgrade_requested, 0, {}, 0});
  ASSERT_FALSE(actions.empty());
  EXPECT_EQ(actions[0].kind, Do::switch_to_upgrade);
  EXPECT_EQ(spawn_order(actions), (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(set_->state(), S::probation);
}

TEST_F(ServiceSetTest, TermWhileTheSetWaitsExitsWithTheFirstChildsLastStatus) {
  policy_.group = GroupPolicy::together;
  make();
  start_all();
  exit_of(0, exited(9));
  exit_of(2, killed(SIGTERM));
  exit_of(1, killed(SIGTERM));
  auto actions = on({Kind::stop_requested, 0, {}, SIGTERM});
  ASSERT_EQ(actions.size(), 1U);
  EXPECT_EQ(actions[0].kind, Do::exit);
  EXPECT_EQ(actions[0].value, 9);
}

TEST_F(ServiceSetTest, ASetOfOneBehavesLikeASingleChild) {
  policy_.children = {{"lavap", false}};
  make();
  auto actions = on({Kind::start, 0, {}, 0});
  EXPECT_EQ(spawn_order(actions), std::vector<std::size_t>{0});
  exit_of(0, exited(1));
  EXPECT_EQ(set_->child_state(0), C::backoff);
  EXPECT_EQ(spawn_order(fire()), std::vector<std::size_t>{0});
  actions = on({Kind::stop_requested, 0, {}, SIGTERM});
  EXPECT_EQ(signalled(actions), std::vector<std::size_t>{0});
  actions = exit_of(0, killed(SIGTERM));
  ASSERT_EQ(actions.size(), 1U);
  EXPECT_EQ(actions[0].value, 128 + SIGTERM);
}

TEST_F(ServiceSetTest, PolicyFromOptionsTakesEachChildsReadyPattern) {
  Options options;
  options.group = GroupPolicy::together;
  options.ready_pattern = "";
  options.children.push_back({"core", "vega start", {"vega", "start"}, {}, "", "started"});
  options.children.push_back({"datanode", "vega datanode", {"vega", "datanode"}, {}, "", ""});
  const SetPolicy policy = SetPolicy::from(options);
  EXPECT_EQ(policy.group, GroupPolicy::together);
  ASSERT_EQ(policy.children.size(), 2U);
  EXPECT_TRUE(policy.children[0].require_ready);
  EXPECT_FALSE(policy.children[1].require_ready);
  options.ready_pattern = "up";  // the set's pattern applies to a child without its own
  EXPECT_TRUE(SetPolicy::from(options).children[1].require_ready);
}

TEST(ChildArgv, UpgradeArgumentsPerChildWithPlaceholdersFilled) {
  Options options;
  options.profile = "vega";
  options.upgrade_args = {"--snapshot.load-from-block-height", "{height}"};
  options.children.push_back({"core", "", {"vega", "start", "--home", "/srv/vega"}, {}, "", ""});
  options.children.push_back({"datanode", "", {"vega", "datanode", "start"}, {}, "", ""});
  options.children.push_back(
      {"extra", "", {"/opt/vega", "x"}, std::vector<std::string>{"--to={version}"}, "", ""});
  EXPECT_EQ(child_argv(options, 0, SpawnReason::upgrade, "/h/current/vega", "0.80.0", "1200"),
            (std::vector<std::string>{"/h/current/vega", "start", "--home", "/srv/vega",
                                      "--snapshot.load-from-block-height", "1200"}));
  EXPECT_EQ(child_argv(options, 1, SpawnReason::upgrade, "/h/current/vega", "0.80.0", "1200"),
            (std::vector<std::string>{"/h/current/vega", "datanode", "start"}));
  EXPECT_EQ(child_argv(options, 2, SpawnReason::upgrade, "/h/current/vega", "0.80.0", ""),
            (std::vector<std::string>{"/h/current/vega", "x", "--to=0.80.0"}));
  EXPECT_EQ(child_argv(options, 0, SpawnReason::restart, "/h/current/vega", "0.80.0", "1200",
                       {"--snapshot.load-from-block-height", "900"}),
            (std::vector<std::string>{"/h/current/vega", "start", "--home", "/srv/vega",
                                      "--snapshot.load-from-block-height", "900"}));
  EXPECT_TRUE(child_argv(options, 7, SpawnReason::restart, "/x", "", "").empty());
}

}  // namespace
}  // namespace visor
