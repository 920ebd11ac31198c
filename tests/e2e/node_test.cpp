// End-to-end: the real build/visor reading the network through a node's CometBFT RPC (--node),
// against a local stand-in (support/cometbft_node.py) that serves real protobuf bytes.
#include <signal.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <thread>

#include "e2e_util.h"

namespace visor::e2e {
namespace {

namespace fs = std::filesystem;

class NodeRpc : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "bin");
    fs::create_directories(dir_ / "releases");
    control_ = {{"chain_id", "lava-testnet-2"}, {"height", 100}, {"plan", nullptr}};
    set_params("5.0.0", "5.2.1");
    node_ = start_server("cometbft_node.py",
                         {"--control", dir_ / "control.json", "--log", dir_ / "node.log"},
                         dir_ / "node.out");
    releases_ = start_server("release_server.py",
                             {"--dir", dir_ / "releases", "--log", dir_ / "requests.log"},
                             dir_ / "releases.out");
  }
  void set_params(const std::string& min, const std::string& target) {
    control_["params"] = {{"provider_target", target},
                          {"provider_min", min},
                          {"consumer_target", target},
                          {"consumer_min", min}};
    publish();
  }
  void publish() { replace_file(dir_ / "control.json", control_.dump()); }
  std::map<std::string, std::string> environment() const {
    const char* path = std::getenv("PATH");
    return {{"PATH", (dir_ / "bin") + ":" + (path ? path : "/usr/bin:/bin")}};
  }
  int node_requests(const std::string& needle) const {
    return count_occurrences(read_file(dir_ / "node.log"), needle);
  }
  int release_requests(const std::string& needle) const {
    return count_occurrences(read_file(dir_ / "requests.log"), needle);
  }
  std::vector<std::string> pids() const { return read_lines(dir_ / "pids"); }
  bool running(const std::string& version) const {
    return argv_file_says_running(dir_ / "argv", version);
  }
  std::string child_flags() const {
    return " --argv-file " + (dir_ / "argv") + " --pid-file " + (dir_ / "pids");
  }
  std::string home() const { return dir_ / "home"; }
  // A Lava release of `version` on the release server, with its sha256sum.txt.
  std::string publish_lava_release(const std::string& version) {
    const std::string file = "lavap-v" + version + "-linux-" + host_arch_name();
    const std::string folder = dir_ / ("releases/v" + version);
    fs::create_directories(folder);
    write_stand_in(folder + "/" + file, version);
    write_file(folder + "/sha256sum.txt", sha256sum(folder + "/" + file) + "  " + file + "\n");
    return file;
  }
  std::vector<std::string> lava_wrap(std::vector<std::string> extra = {}) const {
    std::vector<std::string> argv{visor_binary(),
                                  "wrap",
                                  "--home",
                                  home(),
                                  "--source",
                                  "lava",
                                  "--node",
                                  node_.url(),
                                  "--chain-id",
                                  "lava-testnet-2",
                                  "--poll-interval",
                                  "200ms",
                                  "--request-timeout",
                                  "2s",
                                  "--healthy-after",
                                  "1s",
                                  "--allow-http",
                                  "--download-url",
                                  releases_.url() + "/v{version}/lavap-v{version}-{os}-{arch}",
                                  "--checksum-url",
                                  releases_.url() + "/v{version}/sha256sum.txt",
                                  "--cmd",
                                  "lavap rpcprovider" + child_flags()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  TempDir dir_;
  nlohmann::json control_;
  Server node_;
  Server releases_;
};

TEST_F(NodeRpc, LavaUpgradeThroughTheNodesAbciQuery) {
  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  const std::string file = publish_lava_release("5.3.0");
  Process visor(lava_wrap(), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("5.2.1"); }, 15s)) << visor.output();
  // The chain raises provider_min above the running version: a mandatory upgrade.
  set_params("5.3.0", "5.3.0");
  ASSERT_TRUE(wait_until([&] { return running("5.3.0"); }, 20s)) << visor.output();
  EXPECT_EQ(release_requests(file), 1);
  // What LavaVisor asks: the params through abci_query, and the chain id through /status.
  EXPECT_GT(node_requests("/abci_query?path=%22/lavanet.lava.protocol.Query/Params%22"), 0)
      << read_file(dir_ / "node.log");
  EXPECT_GT(node_requests("GET /status"), 0);
  EXPECT_EQ(fs::read_symlink(home() + "/current").string(), "upgrades/5.3.0");
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

TEST_F(NodeRpc, AWrongChainIdIsOneLineAndNothingItSaysIsActedOn) {
  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  publish_lava_release("5.3.0");
  // A node of another chain, whose params would force an upgrade if they were believed.
  control_["chain_id"] = "lava-mainnet-1";
  set_params("5.3.0", "5.3.0");
  Process visor(lava_wrap(), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("5.2.1"); }, 15s)) << visor.output();
  // Many polls (every 200 ms) ...
  ASSERT_TRUE(wait_until([&] { return node_requests("GET /status") >= 8; }, 15s))
      << read_file(dir_ / "node.log");
  // ... one line, naming both chains (repeated at most once a minute).
  EXPECT_EQ(count_occurrences(visor.output(), "not --chain-id 'lava-testnet-2'"), 1)
      << visor.output();
  EXPECT_NE(visor.output().find("'lava-mainnet-1'"), std::string::npos);
  EXPECT_TRUE(running("5.2.1"));
  EXPECT_EQ(pids().size(), 1u);
  EXPECT_EQ(release_requests("5.3.0"), 0) << read_file(dir_ / "requests.log");
  EXPECT_FALSE(fs::exists(home() + "/upgrades/5.3.0"));
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

TEST_F(NodeRpc, HostileAbciRepliesAreOneBoundedLineAndTheChildKeepsRunning) {
  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  Process visor(lava_wrap(), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("5.2.1"); }, 15s)) << visor.output();
  const std::vector<std::pair<std::string, std::string>> modes{
      {"garbage", "not JSON"},
      {"truncated", "not JSON"},
      {"huge", "larger than"},
      {"not-base64", "not base64"},
      {"not-protobuf", "not a protobuf QueryParamsResponse"},
  };
  for (const auto& [mode, expected] : modes) {
    const size_t log_before = visor.output().size();
    control_["abci"] = mode;
    publish();
    ASSERT_TRUE(wait_until(
        [&] { return visor.output().find(expected, log_before) != std::string::npos; }, 15s))
        << mode << ": expected a line with '" << expected << "'\n"
        << visor.output().substr(log_before);
    // Bounded: no line of visor's log carries the 50 MB body or a control character.
    for (const auto& line : read_lines(dir_ / "visor.log")) {
      EXPECT_LT(line.size(), 2000u) << mode;
    }
    EXPECT_TRUE(visor.running());
    EXPECT_EQ(pids().size(), 1u);
  }
  // Good replies again: polling goes on as before.
  control_["abci"] = "normal";
  publish();
  const int polls = node_requests("Query/Params");
  ASSERT_TRUE(wait_until([&] { return node_requests("Query/Params") > polls + 2; }, 15s));
  EXPECT_TRUE(running("5.2.1"));
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

TEST_F(NodeRpc, CheckProbesTheNodeAndRefusesAnotherChain) {
  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  set_params("5.0.0", "5.3.0");
  Process good({visor_binary(), "check", "--home", home(), "--source", "lava", "--node",
                node_.url(), "--chain-id", "lava-testnet-2", "--cmd", "lavap rpcprovider"},
               dir_ / "good.log", environment());
  EXPECT_EQ(good.wait(15s), 0) << good.output();
  EXPECT_NE(good.output().find("min 5.0.0, target 5.3.0"), std::string::npos) << good.output();
  Process other({visor_binary(), "check", "--home", home(), "--source", "lava", "--node",
                 node_.url(), "--chain-id", "lava-mainnet-1", "--cmd", "lavap rpcprovider"},
                dir_ / "other.log", environment());
  EXPECT_EQ(other.wait(15s), 1) << other.output();
  EXPECT_NE(other.output().find("not --chain-id 'lava-mainnet-1'"), std::string::npos)
      << other.output();
}

// lavap's and LavaVisor's `--node tcp://host:26657` is the same plain-HTTP RPC.
TEST_F(NodeRpc, ATcpNodeUrlAsLavapTakesItIsTheSameRpc) {
  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  set_params("5.0.0", "5.3.0");
  const std::string url = node_.url();
  ASSERT_EQ(url.rfind("http://", 0), 0u) << url;
  Process check(
      {visor_binary(), "check", "--home", home(), "--source", "lava", "--node",
       "tcp://" + url.substr(7), "--chain-id", "lava-testnet-2", "--cmd", "lavap rpcprovider"},
      dir_ / "tcp.log", environment());
  EXPECT_EQ(check.wait(15s), 0) << check.output();
  EXPECT_NE(check.output().find("min 5.0.0, target 5.3.0"), std::string::npos) << check.output();
  EXPECT_GT(node_requests("/abci_query?path=%22/lavanet.lava.protocol.Query/Params%22"), 0);
}

// `visor add-upgrade VERSION FILE --height H` under --source none: the switch waits for the
// chain, read through --node, to reach H.
TEST_F(NodeRpc, AddUpgradeAtAHeightSwitchesWhenTheChainReachesIt) {
  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  Process visor({visor_binary(), "wrap", "--home", home(), "--node", node_.url(), "--healthy-after",
                 "1s", "--cmd", "lavap rpcprovider" + child_flags()},
                dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("5.2.1"); }, 15s)) << visor.output();
  fs::create_directories(dir_ / "new");
  write_stand_in(dir_ / "new/lavap", "5.3.0");
  Process add({visor_binary(), "add-upgrade", "5.3.0", dir_ / "new/lavap", "--height", "105",
               "--home", home()},
              dir_ / "add.log");
  ASSERT_EQ(add.wait(15s), 0) << add.output();
  // The chain stays at 100 for several polls (every second): nothing happens.
  const int polls = node_requests("GET /status");
  ASSERT_TRUE(wait_until([&] { return node_requests("GET /status") >= polls + 2; }, 15s));
  EXPECT_TRUE(running("5.2.1"));
  EXPECT_EQ(pids().size(), 1u);
  // The chain reaches the height: visor stops the node and switches.
  control_["height"] = 105;
  publish();
  ASSERT_TRUE(wait_until([&] { return running("5.3.0"); }, 15s)) << visor.output();
  EXPECT_EQ(fs::read_symlink(home() + "/current").string(), "upgrades/5.3.0");
  const auto state = nlohmann::json::parse(read_file(home() + "/state.json"));
  EXPECT_TRUE(state["height_switches"].empty()) << state.dump();
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

class CosmosPlan : public NodeRpc {
 protected:
  void SetUp() override {
    NodeRpc::SetUp();
    fs::create_directories(dir_ / "chain/data");
    write_stand_in(dir_ / "bin/simd", "1.0.0");
    fs::create_directories(dir_ / "releases/v2");
    write_stand_in(dir_ / "releases/v2/simd", "2.0.0");
    control_["chain_id"] = "simapp-1";
  }
  std::string info_file() const { return dir_ / "chain/data/upgrade-info.json"; }
  std::string binaries_info() const {
    const std::string url =
        releases_.url() + "/v2/simd?checksum=sha256:" + sha256sum(dir_ / "releases/v2/simd");
    return nlohmann::json({{"binaries", {{"linux/" + host_arch_name(), url}}}}).dump();
  }
  std::vector<std::string> cosmos_wrap(std::vector<std::string> extra = {}) const {
    std::vector<std::string> argv{visor_binary(),
                                  "wrap",
                                  "--home",
                                  home(),
                                  "--profile",
                                  "cosmos",
                                  "--node",
                                  node_.url(),
                                  "--chain-id",
                                  "simapp-1",
                                  "--upgrade-info",
                                  info_file(),
                                  "--allow-http",
                                  "--poll-interval",
                                  "200ms",
                                  "--healthy-after",
                                  "1s",
                                  "--cmd",
                                  "simd start" + child_flags()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  /// Plan info whose binary the release server does not have (a download that keeps failing).
  std::string unavailable_binary_info() const {
    const std::string url = releases_.url() + "/gone/simd?checksum=sha256:" + std::string(64, 'a');
    return nlohmann::json({{"binaries", {{"linux/" + host_arch_name(), url}}}}).dump();
  }
  /// The upgrade stage `visor status --json` shows ("idle", "retrying", ...); empty when none.
  std::string live_stage() const {
    const auto status = run_command(visor_binary() + " status --json --home " + home(), false);
    const auto document = nlohmann::json::parse(status.output, nullptr, false);
    if (document.is_discarded() || !document.contains("live")) return std::string();
    return document["live"].value("upgrade_stage", std::string());
  }
};

TEST_F(CosmosPlan, PreStagedBeforeTheHaltSoTheHaltCostsOnlyTheSwitch) {
  Process visor(cosmos_wrap(), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("1.0.0"); }, 15s)) << visor.output();
  // Governance passed: the plan is scheduled days before its height.
  control_["plan"] = {{"name", "v2.0.0"}, {"height", 1234}, {"info", binaries_info()}};
  publish();
  ASSERT_TRUE(wait_until([&] { return fs::exists(home() + "/upgrades/2.0.0/simd"); }, 20s))
      << visor.output();
  EXPECT_EQ(release_requests("/v2/simd"), 1);
  std::this_thread::sleep_for(600ms);  // several plan polls: staged once, the node undisturbed
  EXPECT_TRUE(running("1.0.0"));
  EXPECT_EQ(pids().size(), 1u);
  EXPECT_EQ(release_requests("/v2/simd"), 1);
  // `visor status --json` shows the plan, the chain and that the binary is staged.
  nlohmann::json network;
  ASSERT_TRUE(wait_until(
      [&] {
        const auto status = run_command(visor_binary() + " status --json --home " + home(), false);
        const auto document = nlohmann::json::parse(status.output, nullptr, false);
        if (document.is_discarded() || !document.contains("network")) return false;
        network = document["network"];
        return network.is_object() && network["plan"].is_object() &&
               network["plan"]["staged"] == true;
      },
      15s))
      << network.dump();
  EXPECT_EQ(network["plan"]["name"], "v2.0.0");
  EXPECT_EQ(network["plan"]["height"], 1234);
  EXPECT_EQ(network["plan"]["version"], "2.0.0");
  EXPECT_EQ(network["chain_id"], "simapp-1");
  EXPECT_EQ(network["chain_height"], 100);

  // The chain reaches the height and halts: it writes upgrade-info.json.
  control_["height"] = 1234;
  publish();
  write_file(
      info_file(),
      nlohmann::json({{"name", "v2.0.0"}, {"height", 1234}, {"info", binaries_info()}}).dump());
  ASSERT_TRUE(wait_until([&] { return running("2.0.0"); }, 20s)) << visor.output();
  // Nothing was fetched at the halt.
  EXPECT_EQ(release_requests("/v2/simd"), 1) << read_file(dir_ / "requests.log");
  EXPECT_EQ(fs::read_symlink(home() + "/current").string(), "upgrades/2.0.0");
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

TEST_F(CosmosPlan, PlanDownloadsOffNeverFetchesWhatThePlanLists) {
  control_["plan"] = {{"name", "v2.0.0"}, {"height", 1234}, {"info", binaries_info()}};
  publish();
  Process visor(cosmos_wrap({"--plan-downloads", "off"}), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("1.0.0"); }, 15s)) << visor.output();
  ASSERT_TRUE(wait_until([&] { return node_requests("CurrentPlan") >= 5; }, 15s));
  EXPECT_EQ(release_requests("/v2/simd"), 0) << read_file(dir_ / "requests.log");
  // The operator is told, once, that the halt would wait for a binary.
  ASSERT_TRUE(wait_until(
      [&] { return visor.output().find("its binary is not staged") != std::string::npos; }, 15s))
      << visor.output();
  const int polls = node_requests("CurrentPlan");
  ASSERT_TRUE(wait_until([&] { return node_requests("CurrentPlan") >= polls + 3; }, 15s));
  EXPECT_EQ(count_occurrences(visor.output(), "its binary is not staged"), 1) << visor.output();
  EXPECT_FALSE(fs::exists(home() + "/upgrades/2.0.0"));
  EXPECT_TRUE(running("1.0.0"));
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

// A plan cancelled on chain (governance cancels it, CurrentPlan answers nothing) is no longer
// pre-staged: a failing download stops being retried, and the status says no plan. Scheduled
// again (here with a binary that can be had), it is pre-staged again.
TEST_F(CosmosPlan, APlanCancelledOnChainIsNoLongerPreStaged) {
  control_["plan"] = {{"name", "v2.0.0"}, {"height", 1234}, {"info", unavailable_binary_info()}};
  publish();
  Process visor(cosmos_wrap(), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("1.0.0"); }, 15s)) << visor.output();
  ASSERT_TRUE(wait_until([&] { return live_stage() == "retrying"; }, 15s)) << visor.output();
  ASSERT_GE(release_requests("/gone/simd"), 1);

  control_["plan"] = nullptr;  // cancelled
  publish();
  ASSERT_TRUE(wait_until([&] { return live_stage() == "idle"; }, 15s)) << visor.output();
  EXPECT_EQ(count_occurrences(visor.output(), "plan v2.0.0 at height 1234 is no longer scheduled"),
            1)
      << visor.output();
  EXPECT_TRUE(running("1.0.0"));
  EXPECT_EQ(pids().size(), 1u);

  control_["plan"] = {{"name", "v2.0.0"}, {"height", 1234}, {"info", binaries_info()}};
  publish();
  ASSERT_TRUE(wait_until([&] { return fs::exists(home() + "/upgrades/2.0.0/simd"); }, 20s))
      << visor.output();
  EXPECT_TRUE(running("1.0.0"));
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

// A plan also leaves CurrentPlan when the network carries it out at its height: a --node ahead
// of the local node (a remote or load-balanced RPC) says so before the local node halts. That is
// no cancellation: the pre-staging goes on, since the halt needs the binary now.
TEST_F(CosmosPlan, APlanCarriedOutByTheNetworkKeepsItsPreStaging) {
  control_["plan"] = {{"name", "v2.0.0"}, {"height", 1234}, {"info", unavailable_binary_info()}};
  publish();
  Process visor(cosmos_wrap(), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("1.0.0"); }, 15s)) << visor.output();
  ASSERT_TRUE(wait_until([&] { return live_stage() == "retrying"; }, 15s)) << visor.output();

  control_["plan"] = nullptr;  // carried out: the node read through --node is at the plan's height
  control_["height"] = 1234;
  publish();
  const int polls = node_requests("CurrentPlan");
  ASSERT_TRUE(wait_until([&] { return node_requests("CurrentPlan") >= polls + 5; }, 15s));
  EXPECT_EQ(visor.output().find("is no longer scheduled"), std::string::npos) << visor.output();
  EXPECT_EQ(live_stage(), "retrying") << visor.output();
  EXPECT_TRUE(running("1.0.0"));
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

// `add-upgrade --height H`: H is a block height (an int64 from 1); anything else is one error
// line and exit 2 before anything is staged. A height the chain has already passed (as the
// running visor last saw it) is refused too: it would stop the node and switch at once.
TEST_F(CosmosPlan, AddUpgradeRefusesHeightsThatAreNotAheadOfTheChain) {
  fs::create_directories(dir_ / "new");
  write_stand_in(dir_ / "new/simd", "2.0.0");
  for (const std::string height : {"0", "-5", "18446744073709551616", "9223372036854775808", "0x10",
                                   "", "abc", "1e3", " 12", "+7"}) {
    Process add({visor_binary(), "add-upgrade", "2.0.0", dir_ / "new/simd", "--height", height,
                 "--home", dir_ / "offline"},
                dir_ / ("add-" + std::to_string(std::hash<std::string>()(height)) + ".log"));
    EXPECT_EQ(add.wait(15s), 2) << "[" << height << "] " << add.output();
    EXPECT_EQ(count_occurrences(add.output(), "error"), 1) << "[" << height << "] " << add.output();
    EXPECT_FALSE(fs::exists(dir_ / "offline/upgrades/2.0.0")) << "[" << height << "]";
  }

  publish();  // the chain id; the chain is at height 100
  Process visor(cosmos_wrap(), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("1.0.0"); }, 15s)) << visor.output();
  ASSERT_TRUE(wait_until(
      [&] {
        const auto status = run_command(visor_binary() + " status --json --home " + home(), false);
        const auto document = nlohmann::json::parse(status.output, nullptr, false);
        return !document.is_discarded() && document.contains("network") &&
               document["network"].is_object() && document["network"]["chain_height"] == 100;
      },
      15s));
  for (const std::string height : {"50", "99"}) {
    Process add({visor_binary(), "add-upgrade", "2.0.0", dir_ / "new/simd", "--height", height,
                 "--home", home()},
                dir_ / ("add-passed-" + height + ".log"));
    EXPECT_EQ(add.wait(15s), 2) << height << ": " << add.output();
    EXPECT_NE(add.output().find("100"), std::string::npos) << add.output();
  }
  const auto state = nlohmann::json::parse(read_file(home() + "/state.json"));
  EXPECT_TRUE(state["height_switches"].empty()) << state.dump();
  Process ahead({visor_binary(), "add-upgrade", "2.0.0", dir_ / "new/simd", "--height", "101",
                 "--home", home()},
                dir_ / "add-ahead.log");
  EXPECT_EQ(ahead.wait(15s), 0) << ahead.output();
  ASSERT_TRUE(wait_until([&] { return node_requests("GET /status") >= 3; }, 15s));
  EXPECT_TRUE(running("1.0.0"));
  EXPECT_EQ(pids().size(), 1u);
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

// `visor add-upgrade` and a running visor both rewrite state.json. While visor switches through
// six upgrades (each a handful of saves: pending, `current`, the plan done, the switch taken),
// the operator stages the next one (a plan mapping or a height switch) and, all along, as fast
// as it can, spare versions with plan mappings. Every mapping and switch written must be in
// state.json at the end, and each upgrade must happen: a lost mapping leaves visor waiting at
// the halt (downloads are off), a lost height switch never fires.
TEST_F(CosmosPlan, AddUpgradeWhileVisorSavesLosesNothingEitherWrote) {
  publish();  // the chain id
  Process visor(cosmos_wrap({"--plan-downloads", "off"}), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("1.0.0"); }, 15s)) << visor.output();

  std::atomic<bool> finished{false};
  std::atomic<int> spares{0};
  std::string spare_failure;
  std::thread spare_writer([&] {
    fs::create_directories(dir_ / "spare");
    for (int j = 1; !finished && j <= 300; ++j) {
      const std::string version = "100." + std::to_string(j) + ".0";
      const std::string file = dir_ / ("spare/simd-" + std::to_string(j));
      write_stand_in(file, version);
      Process add({visor_binary(), "add-upgrade", version, file, "--plan",
                   "spare-" + std::to_string(j), "--stage-only", "--home", home()},
                  dir_ / "spare.log", environment());
      if (add.wait(30s) != 0) {
        spare_failure = add.output();
        return;
      }
      spares = j;
    }
  });
  const int steps = 6;
  const auto version_of = [](int step) { return std::to_string(step + 1) + ".0.0"; };
  const auto height_of = [](int step) { return 100 + 10 * step; };
  // Odd steps: a plan the chain halts on; even steps: a switch at a height.
  const auto stage = [&](int step) {
    const std::string file = dir_ / ("v" + std::to_string(step) + "/simd");
    fs::create_directories(dir_ / ("v" + std::to_string(step)));
    write_stand_in(file, version_of(step));
    std::vector<std::string> argv{visor_binary(), "add-upgrade", version_of(step),
                                  file,           "--home",      home()};
    if (step % 2 == 1) {
      argv.insert(argv.end(), {"--plan", "plan-" + std::to_string(step)});
    } else {
      argv.insert(argv.end(), {"--height", std::to_string(height_of(step))});
    }
    Process add(argv, dir_ / "add.log", environment());
    return add.wait(30s) == 0 ? std::string() : add.output();
  };
  ASSERT_EQ(stage(1), "");
  for (int step = 1; step <= steps; ++step) {
    control_["height"] = height_of(step);
    publish();
    if (step % 2 == 1) {
      replace_file(info_file(), nlohmann::json({{"name", "plan-" + std::to_string(step)},
                                                {"height", height_of(step)},
                                                {"info", ""}})
                                    .dump());
    }
    // The next one is staged while visor carries this one out.
    if (step < steps) {
      ASSERT_EQ(stage(step + 1), "");
    }
    ASSERT_TRUE(wait_until([&] { return running(version_of(step)); }, 30s))
        << "step " << step << "\n"
        << visor.output() << read_file(home() + "/state.json");
    ASSERT_TRUE(wait_until(
        [&] { return count_occurrences(visor.output(), " succeeded: it stayed up") >= step; }, 30s))
        << visor.output();
  }
  finished = true;
  spare_writer.join();
  EXPECT_EQ(spare_failure, "");
  EXPECT_GT(spares, 0);

  const auto state = nlohmann::json::parse(read_file(home() + "/state.json"));
  EXPECT_EQ(state["current"], version_of(steps)) << state.dump(2);
  EXPECT_TRUE(state["pending"].is_null()) << state.dump(2);
  EXPECT_TRUE(state["height_switches"].empty()) << state.dump(2);
  for (int step = 1; step <= steps; step += 2) {
    EXPECT_EQ(state["plans"].value("plan-" + std::to_string(step), ""), version_of(step))
        << state.dump(2);
  }
  for (int j = 1; j <= spares; ++j) {
    const std::string version = "100." + std::to_string(j) + ".0";
    EXPECT_EQ(state["plans"].value("spare-" + std::to_string(j), ""), version) << state.dump(2);
    EXPECT_TRUE(state["sha256"].contains(version)) << state.dump(2);
  }
  EXPECT_EQ(fs::read_symlink(home() + "/current").string(), "upgrades/" + version_of(steps));
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

// `visor add-upgrade VERSION FILE --height H` with a Cosmos node that stops itself at H: given
// `--halt-height H` it commits block H and exits 0. The stand-in node reads the chain's height
// from control.json, which the RPC stand-in serves; the new version's binary ignores the flag.
class HeightHalt : public NodeRpc {
 protected:
  void SetUp() override {
    NodeRpc::SetUp();
    control_["chain_id"] = "simapp-1";
    publish();
    fs::create_directories(dir_ / "v2");
    write_node(dir_ / "v2/simd", "2.0.0", false);
  }
  // A node `simd` of `version` that logs each start to runs.log and runs `behaviour`; with
  // `halts`, a node given --halt-height N (either spelling) exits 0 once the chain is at N.
  void write_node(const std::string& path, const std::string& version, bool halts,
                  const std::string& behaviour = "") {
    std::string script = "echo '" + version + "' >> '" + (dir_ / "runs.log") + "'\n" + behaviour;
    if (halts) {
      script +=
          "\nhalt=; previous=\n"
          "for word in \"$@\"; do\n"
          "  case \"$word\" in --halt-height=*) halt=${word#--halt-height=} ;; esac\n"
          "  [ \"$previous\" = --halt-height ] && halt=$word\n"
          "  previous=$word\n"
          "done\n"
          "if [ -n \"$halt\" ]; then\n"
          "  node=$$\n"
          "  ( tries=0\n"
          "    while [ $tries -lt 1200 ] && kill -0 $node 2>/dev/null; do\n"
          "      height=$(sed -n 's/.*\"height\":\\([0-9]*\\).*/\\1/p' '" +
          (dir_ / "control.json") +
          "')\n"
          "      if [ -n \"$height\" ] && [ \"$height\" -ge \"$halt\" ]; then\n"
          "        kill -TERM $node; exit 0\n"
          "      fi\n"
          "      sleep 0.05; tries=$((tries + 1))\n"
          "    done ) &\n"
          "fi\n"
          // The test child exits 0 on the TERM of the halt: a clean exit, as the node's own.
          "set -- \"$@\" --exit-on-term 0\n";
    }
    write_stand_in(path, version, script);
  }
  std::vector<std::string> wrap(const std::string& node_flags,
                                std::vector<std::string> extra = {}) const {
    std::vector<std::string> argv{visor_binary(),    "wrap",
                                  "--home",          home(),
                                  "--node",          node_.url(),
                                  "--healthy-after", "1s",
                                  "--cmd",           "simd start" + node_flags + child_flags()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  void schedule(const std::string& version, const std::string& file, int height) {
    Process add({visor_binary(), "add-upgrade", version, file, "--height", std::to_string(height),
                 "--home", home()},
                dir_ / "add.log", environment());
    ASSERT_EQ(add.wait(15s), 0) << add.output();
  }
  std::vector<std::string> runs() const { return read_lines(dir_ / "runs.log"); }
  nlohmann::json status() const {
    return nlohmann::json::parse(read_file(home() + "/status.json"), nullptr, false);
  }
  // visor has seen the chain at `height` (status.json, written after each poll that changed it).
  bool visor_saw(int height) const {
    const auto live = status();
    return live.is_object() && live["network"].is_object() &&
           live["network"]["chain_height"] == height;
  }
  nlohmann::json height_switches() const {
    return nlohmann::json::parse(read_file(home() + "/state.json"))["height_switches"];
  }
  // The switch to 2.0.0 is done: it runs, `current` points at it and it passed its probation.
  void expect_switched_once(Process& visor) {
    ASSERT_TRUE(wait_until([&] { return running("2.0.0"); }, 15s)) << visor.output();
    ASSERT_TRUE(wait_until(
        [&] {
          return visor.output().find("upgrade from 1.0.0 to 2.0.0 succeeded") != std::string::npos;
        },
        15s))
        << visor.output();
    EXPECT_EQ(runs(), (std::vector<std::string>{"1.0.0", "2.0.0"})) << visor.output();
    EXPECT_EQ(fs::read_symlink(home() + "/current").string(), "upgrades/2.0.0");
    EXPECT_TRUE(height_switches().empty()) << read_file(home() + "/state.json");
    EXPECT_EQ(status()["child_restarts_total"], 0) << status().dump();
    EXPECT_TRUE(visor.running()) << visor.output();
  }
};

// The node halts itself at the height while visor last saw the chain far below it (visor polls
// the node once an hour here: the poll lag at its worst). The clean exit of a node whose command
// line says --halt-height 105 is its halt: 2.0.0 starts once, 1.0.0 is never started again
// (with the default --restart on-failure, a clean exit would otherwise end visor).
TEST_F(HeightHalt, ANodeThatHaltsItselfAtTheHeightIsSwitchedNotRestarted) {
  write_node(dir_ / "bin/simd", "1.0.0", true);
  // The pre-upgrade hook runs as for any switch: the node stopped, the height known.
  const std::string hook_log = dir_ / "hook.log";
  write_file(dir_ / "pre.sh",
             "#!/bin/sh\nalive=no; kill -0 \"$(tail -n 1 '" + (dir_ / "pids") +
                 "')\" 2>/dev/null && alive=yes\n"
                 "echo \"$VISOR_UPGRADE_FROM|$VISOR_UPGRADE_VERSION|$VISOR_UPGRADE_HEIGHT|"
                 "node-alive=$alive\" >> '" +
                 hook_log + "'\n",
             0755);
  Process visor(wrap(" --halt-height 105",
                     {"--source", "cosmos", "--upgrade-info", dir_ / "upgrade-info.json",
                      "--poll-interval", "1h", "--pre-upgrade", dir_ / "pre.sh"}),
                dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("1.0.0"); }, 15s)) << visor.output();
  schedule("2.0.0", dir_ / "v2/simd", 105);
  ASSERT_TRUE(wait_until([&] { return visor_saw(100); }, 15s)) << visor.output();
  control_["height"] = 105;
  publish();
  expect_switched_once(visor);
  EXPECT_NE(visor.output().find("it exited cleanly with --halt-height 105"), std::string::npos)
      << visor.output();
  EXPECT_TRUE(visor_saw(100)) << "visor never saw the height itself: " << status().dump();
  EXPECT_EQ(read_lines(hook_log), std::vector<std::string>{"1.0.0|2.0.0|105|node-alive=no"});
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

// As operators run it (--source none, the node polled every second): the node's halt and visor's
// own stop at the height race; either way the switch happens once and nothing restarts.
TEST_F(HeightHalt, AHaltRacingVisorsOwnStopSwitchesOnce) {
  write_node(dir_ / "bin/simd", "1.0.0", true);
  Process visor(wrap(" --halt-height=105"), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("1.0.0"); }, 15s)) << visor.output();
  schedule("2.0.0", dir_ / "v2/simd", 105);
  ASSERT_TRUE(wait_until([&] { return visor_saw(100); }, 15s)) << visor.output();
  control_["height"] = 105;
  publish();
  expect_switched_once(visor);
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

// visor saw the chain one block below the height; then the node ends (here killed: its exit
// status does not matter once the chain is that close). It is the halt, not a crash.
TEST_F(HeightHalt, AnExitWithTheChainSeenOneBlockBelowTheHeightIsTheHalt) {
  write_node(dir_ / "bin/simd", "1.0.0", false);
  Process visor(wrap(""), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("1.0.0"); }, 15s)) << visor.output();
  schedule("2.0.0", dir_ / "v2/simd", 105);
  control_["height"] = 104;
  publish();
  ASSERT_TRUE(wait_until([&] { return visor_saw(104); }, 15s)) << visor.output();
  ASSERT_EQ(pids().size(), 1u);
  ASSERT_EQ(::kill(std::stoi(pids().back()), SIGKILL), 0);
  expect_switched_once(visor);
  EXPECT_NE(visor.output().find("the chain was last seen at 104"), std::string::npos)
      << visor.output();
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

// A crash long before the height is a crash, even of a node told to halt there: the old version
// is restarted and the switch stays scheduled. When the chain gets there, the switch happens.
TEST_F(HeightHalt, ACrashFarBelowTheHeightRestartsTheOldVersion) {
  // Its first run crashes when the test says so (crash-now), long before the height.
  const std::string crashed = dir_ / "crashed";
  const std::string crash_now = dir_ / "crash-now";
  write_node(dir_ / "bin/simd", "1.0.0", true,
             "if [ ! -e '" + crashed + "' ]; then\n  touch '" + crashed +
                 "'; tries=0\n  while [ ! -e '" + crash_now +
                 "' ] && [ $tries -lt 600 ]; do sleep 0.05; tries=$((tries + 1)); done\n"
                 "  exit 1\nfi\n");
  Process visor(wrap(" --halt-height 105", {"--backoff-initial", "200ms"}), dir_ / "visor.log",
                environment());
  ASSERT_TRUE(wait_until([&] { return runs().size() == 1; }, 15s)) << visor.output();
  schedule("2.0.0", dir_ / "v2/simd", 105);
  ASSERT_TRUE(wait_until([&] { return visor_saw(100); }, 15s)) << visor.output();
  write_file(crash_now, "");
  ASSERT_TRUE(wait_until([&] { return running("1.0.0"); }, 15s)) << visor.output();
  // Several polls at height 100 after the crash: the old version runs on, nothing switched.
  const int polls = node_requests("GET /status");
  ASSERT_TRUE(wait_until([&] { return node_requests("GET /status") >= polls + 2; }, 15s));
  EXPECT_TRUE(running("1.0.0"));
  EXPECT_EQ(runs(), (std::vector<std::string>{"1.0.0", "1.0.0"})) << visor.output();
  EXPECT_EQ(fs::read_symlink(home() + "/current").string(), "upgrades/1.0.0");
  EXPECT_EQ(height_switches(), nlohmann::json({{"105", "2.0.0"}}));
  EXPECT_EQ(status()["child_restarts_total"], 1) << status().dump();
  // The chain reaches the height: the restarted node halts there, or visor stops it.
  control_["height"] = 105;
  publish();
  ASSERT_TRUE(wait_until([&] { return running("2.0.0"); }, 15s)) << visor.output();
  EXPECT_EQ(runs(), (std::vector<std::string>{"1.0.0", "1.0.0", "2.0.0"})) << visor.output();
  EXPECT_EQ(fs::read_symlink(home() + "/current").string(), "upgrades/2.0.0");
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

}  // namespace
}  // namespace visor::e2e
