#include "visor/upgrade/network_observer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

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

}  // namespace
}  // namespace visor
