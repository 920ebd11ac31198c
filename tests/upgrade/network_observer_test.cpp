#include "visor/upgrade/network_observer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "visor/common/clock.h"

namespace visor {
namespace {

namespace fs = std::filesystem;

class NetworkObserverTest : public ::testing::Test {
 protected:
  NetworkObserverTest() {
    char pattern[] = "/tmp/visor-network-XXXXXX";
    root_ = mkdtemp(pattern);
  }
  ~NetworkObserverTest() override { fs::remove_all(root_); }

  void install(BinaryStore& store, const std::string& version) {
    const std::string path = root_ + "/simd-" + version;
    std::ofstream(path) << "#!/bin/sh\necho " << version << "\n";
    fs::permissions(path, fs::perms::owner_all);
    ASSERT_TRUE(store.install_copy(version, path).ok());
  }
  static NetworkView view(const std::string& plan, const std::string& version) {
    NetworkView view;
    view.chain_id = "simapp-1";
    view.chain_height = 1200;
    view.plan = ScheduledPlan{plan, 1234, version};
    return view;
  }

  std::string root_;
};

TEST_F(NetworkObserverTest, APlanNamedLikeAVersionIsStagedOnceItIsInTheStore) {
  BinaryStore store(root_ + "/home", "simd");
  ASSERT_TRUE(store.open().ok());
  NetworkObserver observer;
  LiveStatus status;
  EXPECT_TRUE(observer.observe(view("v2.0.0", "2.0.0"), store, status));
  EXPECT_FALSE(observer.observe(view("v2.0.0", "2.0.0"), store, status));  // nothing new
  EXPECT_EQ(status.network.chain_id, "simapp-1");
  EXPECT_EQ(status.network.chain_height, 1200u);
  EXPECT_EQ(status.plan_version, "2.0.0");
  EXPECT_FALSE(status.plan_staged);
  install(store, "2.0.0");
  EXPECT_TRUE(observer.observe(view("v2.0.0", "2.0.0"), store, status));  // now staged
  EXPECT_TRUE(status.plan_staged);
  EXPECT_TRUE(observer.observe(NetworkView{}, store, status));  // the plan was carried out
  EXPECT_FALSE(status.network.plan.has_value());
  EXPECT_FALSE(status.plan_staged);
}

TEST_F(NetworkObserverTest, AnyOtherPlanNameIsMappedThroughStateJson) {
  BinaryStore store(root_ + "/home", "simd");
  ASSERT_TRUE(store.open().ok());
  NetworkObserver observer;
  LiveStatus status;
  observer.observe(view("gov-upgrade-2", ""), store, status);
  EXPECT_TRUE(status.plan_version.empty());
  EXPECT_FALSE(status.plan_staged);
  install(store, "2.1.0");
  ASSERT_TRUE(store.map_plan("gov-upgrade-2", "2.1.0").ok());  // as `add-upgrade --plan` does
  observer.observe(view("gov-upgrade-2", ""), store, status);
  EXPECT_EQ(status.plan_version, "2.1.0");
  EXPECT_TRUE(status.plan_staged);
}

TEST_F(NetworkObserverTest, AHeightSwitchIsDueOnceTheChainReachesIt) {
  BinaryStore store(root_ + "/home", "lavap");
  ASSERT_TRUE(store.open().ok());
  // `visor add-upgrade --height` writes state.json while visor runs: the observer reads it.
  StoreState on_disk;
  on_disk.height_switches = {{105, "5.3.0"}, {110, "5.4.0"}};
  ASSERT_TRUE(save_state(store.state_path(), on_disk).ok());
  NetworkObserver observer;
  NetworkView view;
  EXPECT_FALSE(observer.due_switch(view, store).has_value());  // height unknown
  view.chain_height = 104;
  EXPECT_FALSE(observer.due_switch(view, store).has_value());
  view.chain_height = 106;
  auto due = observer.due_switch(view, store);
  ASSERT_TRUE(due.has_value());
  EXPECT_EQ(due->target, "5.3.0");
  EXPECT_TRUE(due->activate);
  EXPECT_EQ(due->height, 105u);
  EXPECT_FALSE(observer.due_switch(view, store).has_value());  // acted upon once
  // Both remaining heights passed at once: the newest scheduled version wins.
  view.chain_height = 200;
  due = observer.due_switch(view, store);
  ASSERT_TRUE(due.has_value());
  EXPECT_EQ(due->target, "5.4.0");
  auto saved = load_state(store.state_path());
  ASSERT_TRUE(saved.ok()) << saved.error();
  EXPECT_TRUE(saved->height_switches.empty());
}

TEST_F(NetworkObserverTest, EveryPollIsCountedAndAGoodOneIsTimed) {
  BinaryStore store(root_ + "/home", "lavap");
  ASSERT_TRUE(store.open().ok());
  NetworkObserver observer;
  LiveStatus status;
  const double before = unix_time_now();
  auto seen = observer.polled(true, 0.25, NetworkView{}, store, status);
  EXPECT_FALSE(seen.due.has_value());
  EXPECT_EQ(status.source_polls_total, 1u);
  EXPECT_EQ(status.source_errors_total, 0u);
  EXPECT_EQ(status.source_poll_latency_seconds, 0.25);
  EXPECT_GE(status.last_successful_poll_unixtime, before);
  const double good = status.last_successful_poll_unixtime;
  seen = observer.polled(false, 2.0, NetworkView{}, store, status);
  EXPECT_EQ(status.source_polls_total, 2u);
  EXPECT_EQ(status.source_errors_total, 1u);
  EXPECT_EQ(status.source_poll_latency_seconds, 2.0);
  EXPECT_EQ(status.last_successful_poll_unixtime, good);  // a failed poll is no good one
  // The chain seen by a poll goes to status, and a switch it reached is due.
  ASSERT_TRUE(store.schedule_at_height(105, "5.3.0").ok());
  NetworkView view;
  view.chain_height = 105;
  seen = observer.polled(true, 0.1, view, store, status);
  EXPECT_TRUE(seen.changed);
  EXPECT_EQ(status.network.chain_height, 105u);
  ASSERT_TRUE(seen.due.has_value());
  EXPECT_EQ(seen.due->target, "5.3.0");
}

TEST_F(NetworkObserverTest, AChildThatHaltedItselfAtTheHeightIsTheSwitchNowWithTheNodeDown) {
  BinaryStore store(root_ + "/home", "simd");
  ASSERT_TRUE(store.open().ok());
  install(store, "1.0.0");
  ASSERT_TRUE(store.switch_to("1.0.0").ok());
  StoreState on_disk = store.state();  // `visor add-upgrade --height` wrote it meanwhile
  on_disk.height_switches = {{105, "2.0.0"}};
  ASSERT_TRUE(save_state(store.state_path(), on_disk).ok());
  NetworkObserver observer;
  NetworkView view;
  view.chain_height = 100;
  // A crash far below the height: an ordinary exit, the switch stays scheduled.
  EXPECT_FALSE(observer.halt_at_exit({false, 105, {}}, view, store).has_value());
  EXPECT_EQ(store.scheduled_heights(), std::vector<std::uint64_t>{105});
  // A clean exit of a node given --halt-height 105: its halt.
  auto halt = observer.halt_at_exit({true, 105, {}}, view, store);
  ASSERT_TRUE(halt.has_value());
  EXPECT_EQ(halt->target, "2.0.0");
  EXPECT_EQ(halt->height, 105u);
  EXPECT_TRUE(halt->activate);
  EXPECT_TRUE(halt->halted);
  EXPECT_TRUE(halt->plan.empty());
  EXPECT_NE(halt->reason.find("--halt-height 105"), std::string::npos) << halt->reason;
  EXPECT_TRUE(store.scheduled_heights().empty());  // taken once
  auto saved = load_state(store.state_path());
  ASSERT_TRUE(saved.ok()) << saved.error();
  EXPECT_TRUE(saved->height_switches.empty());
}

TEST_F(NetworkObserverTest, AnExitWhileTheDueSwitchIsUnderWayIsItsHalt) {
  BinaryStore store(root_ + "/home", "simd");
  ASSERT_TRUE(store.open().ok());
  install(store, "1.0.0");
  install(store, "2.0.0");
  ASSERT_TRUE(store.switch_to("1.0.0").ok());
  ASSERT_TRUE(store.schedule_at_height(105, "2.0.0").ok());
  NetworkObserver observer;
  NetworkView view;
  view.chain_height = 105;
  const auto due = observer.due_switch(view, store);
  ASSERT_TRUE(due.has_value());
  EXPECT_FALSE(due->halted);  // visor stops the node itself
  // The node exits on its own before visor stopped it: the same switch, now a halt.
  auto halt = observer.halt_at_exit({false, {}, {}}, view, store);
  ASSERT_TRUE(halt.has_value());
  EXPECT_EQ(halt->target, "2.0.0");
  EXPECT_TRUE(halt->halted);
  // Once the version runs, an exit is an ordinary one again (a crash of the new version).
  ASSERT_TRUE(store.switch_to("2.0.0").ok());
  EXPECT_FALSE(observer.halt_at_exit({false, {}, {}}, view, store).has_value());
}

TEST_F(NetworkObserverTest, AnExitAfterTheScheduledVersionWasRolledBackIsOrdinary) {
  BinaryStore store(root_ + "/home", "simd");
  ASSERT_TRUE(store.open().ok());
  install(store, "1.0.0");
  install(store, "2.0.0");
  ASSERT_TRUE(store.switch_to("1.0.0").ok());
  ASSERT_TRUE(store.schedule_at_height(105, "2.0.0").ok());
  NetworkObserver observer;
  NetworkView view;
  view.chain_height = 106;
  ASSERT_TRUE(observer.due_switch(view, store).has_value());
  ASSERT_TRUE(store.mark_failed("2.0.0", "exited with exit code 1 after 300ms").ok());
  EXPECT_FALSE(observer.halt_at_exit({false, {}, {}}, view, store).has_value());
}

}  // namespace
}  // namespace visor
