// End-to-end: upgrades of a service set with the real build/visor, real child processes and the
// real local servers: a Vega core and data node behind the Vega admin-socket stand-in, three Lava
// providers behind the Lava REST stand-in, releases from the release server (which counts
// requests). One download per version, one switch, the whole set on one version after a switch
// or a rollback, the snapshot flag on the Vega core only, and the core's restart from the data
// node's latest history segment.
#include <signal.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <thread>

#include "e2e_util.h"
#include "service_set_fixture.h"

namespace visor::e2e {
namespace {

namespace fs = std::filesystem;

const std::string kSnapshotFlag = "--snapshot.load-from-block-height";

class ServiceSetUpgrade : public ServiceSetFixture {
 protected:
  void start_release_server() {
    releases_ = start_server("release_server.py",
                             {"--dir", dir_ / "releases", "--log", dir_ / "requests.log"},
                             dir_ / "releases.out");
  }
  /// Requests at the release server whose path contains `needle`.
  int release_requests(const std::string& needle) const {
    return count_occurrences(read_file(dir_ / "requests.log"), needle);
  }
  /// True when state.json lists `version` under "failed".
  bool marked_failed(const std::string& version) const {
    const auto parsed = state();
    return parsed.is_object() && parsed.contains("failed") && parsed["failed"].is_object() &&
           parsed["failed"].contains(version);
  }

  Server releases_;
};

// --- Vega: a core and a data node -------------------------------------------------------------

class ServiceSetVega : public ServiceSetUpgrade {
 protected:
  void SetUp() override {
    ServiceSetUpgrade::SetUp();
    fs::create_directories(core_home());
    fs::create_directories(datanode_home());
    write_stand_in(dir_ / "bin/vega", "0.79.0");
    set_no_release();
    node_ = std::make_unique<Process>(
        std::vector<std::string>{
            "/usr/bin/python3", std::string(VISOR_SOURCE_DIR) + "/tests/sources/vega_server.py",
            "--socket", socket(), "--control", dir_ / "control.json", "--log", dir_ / "rpc.log"},
        dir_ / "vega-server.out");
    ASSERT_TRUE(wait_until([&] { return fs::exists(socket()); }, 10s)) << node_->output();
  }

  std::string socket() const { return dir_ / "vega.sock"; }
  std::string core_home() const { return dir_ / "core-home"; }
  std::string datanode_home() const { return dir_ / "datanode-home"; }

  void set_no_release() {
    replace_file(
        dir_ / "control.json",
        R"({"result": {"AcceptedReleaseInfo": null, "ReadyToUpgrade": false}, "error": null})");
  }
  void set_status(const std::string& tag, std::uint64_t height, bool ready) {
    nlohmann::json result = {
        {"AcceptedReleaseInfo", {{"VegaReleaseTag", tag}, {"UpgradeBlockHeight", height}}},
        {"ReadyToUpgrade", ready}};
    replace_file(dir_ / "control.json",
                 nlohmann::json({{"result", result}, {"error", nullptr}}).dump());
  }
  /// Publishes `version` as Vega does: a zip holding `vega`, with a checksum file beside it.
  void publish_zip(const std::string& version) {
    const std::string build = dir_ / ("build-" + version);
    fs::create_directories(build);
    write_stand_in(build + "/vega", version);
    const std::string folder = dir_ / ("releases/v" + version);
    fs::create_directories(folder);
    ASSERT_EQ(
        std::system(("cd '" + build + "' && zip -q '" + folder + "/" + zip() + "' vega").c_str()),
        0);
    write_file(folder + "/sha256sum.txt", sha256sum(folder + "/" + zip()) + "  " + zip() + "\n");
  }
  static std::string zip() { return "vega-linux-" + host_arch_name() + ".zip"; }

  /// The Vega Visor layout as Vega documents it: the profile's defaults, the release server.
  std::vector<std::string> wrap_pair(std::vector<std::string> extra = {}) const {
    std::vector<std::string> argv{
        visor_binary(),
        "wrap",
        "--home",
        home(),
        "--profile",
        "vega",
        "--vega-admin-socket",
        socket(),
        "--poll-interval",
        "200ms",
        "--allow-http",
        "--healthy-after",
        "1s",
        "--download-url",
        releases_.url() + "/{tag}/vega-{os}-{arch}.zip",
        "--checksum-url",
        releases_.url() + "/{tag}/sha256sum.txt",
        "--child",
        "core=vega start --home " + core_home() + " --tendermint-home " + (dir_ / "tm") +
            follow("core"),
        "--child",
        "datanode=vega datanode start --home " + datanode_home() + follow("datanode")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  /// The lines the data node's history query appended (see test_child.cpp).
  std::vector<std::string> history_calls() const {
    return read_lines(datanode_home() + "/history-calls");
  }
  void set_history_reply(const std::string& reply) {
    replace_file(datanode_home() + "/history-reply", reply);
  }
  /// Kills child `name` (its last pid) and waits until both children were started `starts` times
  /// with fresh argv files.
  ::testing::AssertionResult crash_and_wait_for_both(const std::string& name, std::size_t starts,
                                                     Process& visor) {
    fs::remove(argv_file("core"));
    fs::remove(argv_file("datanode"));
    if (::kill(pids(name).back(), SIGKILL) != 0) return ::testing::AssertionFailure() << "kill";
    if (!wait_until(
            [&] {
              return started_and_alive("core", starts) && started_and_alive("datanode", starts);
            },
            20s)) {
      return ::testing::AssertionFailure() << "core " << pids("core").size() << " starts, datanode "
                                           << pids("datanode").size() << " starts\n"
                                           << visor.output();
    }
    return ::testing::AssertionSuccess();
  }

  std::unique_ptr<Process> node_;
};

TEST_F(ServiceSetVega, ThePairUpgradesWithOneDownloadAndTheSnapshotFlagOnTheCoreOnly) {
  publish_zip("0.80.0");
  start_release_server();
  Process visor(wrap_pair(), log(), environment());
  ASSERT_TRUE(
      wait_until([&] { return running("core", "0.79.0") && running("datanode", "0.79.0"); }, 15s))
      << visor.output();
  EXPECT_EQ(argv_of("core")[0], "start");
  EXPECT_EQ(argv_of("datanode")[0], "datanode");
  EXPECT_FALSE(contains(argv_of("core"), kSnapshotFlag));  // a first start has no snapshot
  ASSERT_TRUE(wait_until(
      [&] { return count_occurrences(read_file(dir_ / "rpc.log"), "POST /rpc") >= 2; }, 10s));

  // Accepted: pre-staged while both keep running.
  set_status("v0.80.0", 12345, false);
  ASSERT_TRUE(wait_until([&] { return fs::exists(home() + "/upgrades/0.80.0/vega"); }, 20s))
      << visor.output();
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(started_and_alive("core", 1));
  EXPECT_TRUE(started_and_alive("datanode", 1));

  // Ready: both stop (the data node first, then the core), one switch, both start on 0.80.0.
  const std::size_t events_before = events().size();
  set_status("v0.80.0", 12345, true);
  ASSERT_TRUE(
      wait_until([&] { return running("core", "0.80.0") && running("datanode", "0.80.0"); }, 20s))
      << visor.output();
  EXPECT_EQ(release_requests(zip()), 1) << read_file(dir_ / "requests.log");
  EXPECT_EQ(release_requests("sha256sum.txt"), 1) << read_file(dir_ / "requests.log");
  EXPECT_EQ(current_target(), "upgrades/0.80.0");

  const auto core = argv_of("core");
  EXPECT_EQ(value_after(core, kSnapshotFlag), "12345") << ::testing::PrintToString(core);
  EXPECT_EQ(
      std::vector<std::string>(core.begin(), core.begin() + 5),
      (std::vector<std::string>{"start", "--home", core_home(), "--tendermint-home", dir_ / "tm"}));
  const auto datanode = argv_of("datanode");
  EXPECT_FALSE(contains(datanode, kSnapshotFlag)) << ::testing::PrintToString(datanode);
  EXPECT_FALSE(contains(datanode, "12345")) << ::testing::PrintToString(datanode);
  // An upgrade is not a restart from history: the data node was not asked for a segment.
  EXPECT_TRUE(history_calls().empty()) << ::testing::PrintToString(history_calls());

  std::vector<std::string> stop_order;
  const auto all = events();
  for (std::size_t index = events_before; index < all.size(); ++index) {
    if (all[index].what != "start") stop_order.push_back(all[index].child + " " + all[index].what);
  }
  EXPECT_EQ(stop_order,
            (std::vector<std::string>{"datanode term", "datanode exit", "core term", "core exit"}));
  ASSERT_EQ(pids("core").size(), 2u);
  ASSERT_EQ(pids("datanode").size(), 2u);
  EXPECT_LT(pids("core")[1], pids("datanode")[1]);  // started in list order

  // Probation (1 s) passes for both; nothing moves afterwards.
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(current_target(), "upgrades/0.80.0");
  EXPECT_TRUE(started_and_alive("core", 2));
  EXPECT_TRUE(started_and_alive("datanode", 2));
  EXPECT_FALSE(marked_failed("0.80.0")) << read_file(home() + "/state.json");
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(20s), 128 + SIGTERM) << visor.output();
}

// The history query runs off the event loop: while a slow one runs, /healthz answers at once,
// and a stop that comes meanwhile is carried out without the core being started afterwards.
TEST_F(ServiceSetVega, ASlowHistoryQueryNeitherBlocksHealthNorOutlivesAStop) {
  start_release_server();
  set_history_reply(
      "SLEEP 4000\n"
      R"({"latest_segment": {"to_height": 12000}})");
  const int port = free_port();
  Process visor(wrap_pair({"--backoff-initial", "200ms", "--backoff-max", "1s", "--health-listen",
                           "127.0.0.1:" + std::to_string(port)}),
                log(), environment());
  ASSERT_TRUE(wait_until(
      [&] { return started_and_alive("core", 1) && started_and_alive("datanode", 1); }, 15s))
      << visor.output();
  ASSERT_EQ(::kill(pids("core").back(), SIGKILL), 0);
  // The query has begun (the stand-in logs its call first, then takes 4 s to answer).
  ASSERT_TRUE(wait_until([&] { return history_calls().size() == 1; }, 15s)) << visor.output();
  const auto asked = std::chrono::steady_clock::now();
  const HttpReply health = http_get(port, "/healthz", 2s);
  EXPECT_EQ(health.status, 503) << "the core is not running: " << health.body;
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 1500ms) << "/healthz waited for the query";
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(20s), 128 + SIGTERM) << visor.output();
  EXPECT_EQ(pids("core").size(), 1u) << "the core was started after the stop";
}

TEST_F(ServiceSetVega, ACrashRestartsBothAndTheCoreFromTheLatestHistorySegment) {
  start_release_server();
  set_history_reply(
      R"({"latest_segment": {"from_height": 11001, "to_height": 12000, )"
      R"("history_segment_id": "QmSegment", "previous_history_segment_id": "QmPrevious"}})");
  Process visor(wrap_pair({"--backoff-initial", "200ms", "--backoff-max", "1s"}), log(),
                environment());
  ASSERT_TRUE(wait_until(
      [&] { return started_and_alive("core", 1) && started_and_alive("datanode", 1); }, 15s))
      << visor.output();
  EXPECT_FALSE(contains(argv_of("core"), kSnapshotFlag));
  EXPECT_TRUE(history_calls().empty()) << "visor's own first start asks no history";

  // The data node dies: together (vega's default) stops the core and restarts both; the core
  // starts from the data node's latest history segment.
  ASSERT_TRUE(crash_and_wait_for_both("datanode", 2, visor));
  EXPECT_EQ(signals("core"), std::vector<std::string>{"TERM"});
  EXPECT_EQ(value_after(argv_of("core"), kSnapshotFlag), "12000")
      << ::testing::PrintToString(argv_of("core")) << "\n"
      << visor.output();
  EXPECT_FALSE(contains(argv_of("datanode"), kSnapshotFlag))
      << ::testing::PrintToString(argv_of("datanode"));
  ASSERT_EQ(history_calls().size(), 1u);
  // The query is the data node's binary with the data node's home.
  const std::string call = history_calls()[0];
  EXPECT_EQ(call.rfind("datanode network-history latest-history-segment", 0), 0) << call;
  EXPECT_NE(call.find("--output json"), std::string::npos) << call;
  EXPECT_NE(call.find("--home " + datanode_home()), std::string::npos) << call;
  EXPECT_LT(pids("core")[1], pids("datanode")[1]);

  // The query fails: the core starts without the flag, and one line says why.
  set_history_reply("EXIT 1\nError: could not open the network history store\n");
  std::size_t log_before = visor.output().size();
  ASSERT_TRUE(crash_and_wait_for_both("core", 3, visor));
  EXPECT_FALSE(contains(argv_of("core"), kSnapshotFlag))
      << ::testing::PrintToString(argv_of("core"));
  EXPECT_EQ(history_calls().size(), 2u);
  EXPECT_GE(count_occurrences(visor.output().substr(log_before),
                              "could not open the network history store"),
            1)
      << visor.output().substr(log_before);

  // The data node has no segment yet: likewise, without the flag.
  set_history_reply(R"({"latest_segment": null})");
  log_before = visor.output().size();
  ASSERT_TRUE(crash_and_wait_for_both("datanode", 4, visor));
  EXPECT_FALSE(contains(argv_of("core"), kSnapshotFlag))
      << ::testing::PrintToString(argv_of("core"));
  EXPECT_EQ(history_calls().size(), 3u);
  // One line says why: no segment, so no flag.
  bool said_why = false;
  std::istringstream lines(visor.output().substr(log_before));
  for (std::string line; std::getline(lines, line);) {
    said_why = said_why || (line.find("no history segment") != std::string::npos &&
                            line.find("without " + kSnapshotFlag) != std::string::npos);
  }
  EXPECT_TRUE(said_why) << visor.output().substr(log_before);

  // A segment again: the flag again.
  set_history_reply(R"({"latest_segment": {"from_height": 14001, "to_height": 15000}})");
  ASSERT_TRUE(crash_and_wait_for_both("datanode", 5, visor));
  EXPECT_EQ(value_after(argv_of("core"), kSnapshotFlag), "15000")
      << ::testing::PrintToString(argv_of("core"));
  EXPECT_FALSE(contains(argv_of("datanode"), kSnapshotFlag));
  EXPECT_EQ(current_target(), "upgrades/0.79.0");  // restarts never change the version
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(20s), 128 + SIGTERM) << visor.output();
}

// --- Lava: three providers on one host --------------------------------------------------------

std::string lava_params(const std::string& min, const std::string& target) {
  return R"({"params":{"version":{"provider_target":")" + target + R"(","provider_min":")" + min +
         R"(","consumer_target":")" + target + R"(","consumer_min":")" + min + R"("}}})";
}

class ServiceSetLava : public ServiceSetUpgrade {
 protected:
  void SetUp() override {
    ServiceSetUpgrade::SetUp();
    write_stand_in(dir_ / "bin/lavap", "5.2.1");
    write_file(dir_ / "params.json", lava_params("5.0.0", "5.2.1"));
    chain_ = start_server("lava_chain.py",
                          {"--params", dir_ / "params.json", "--log", dir_ / "chain.log"},
                          dir_ / "chain.out");
  }
  static std::string artifact(const std::string& version) {
    return "lavap-v" + version + "-linux-" + host_arch_name();
  }
  /// Publishes `version` as Lava does: a bare binary and sha256sum.txt beside it.
  void publish(const std::string& version, const std::string& behaviour = "") {
    const std::string folder = dir_ / ("releases/v" + version);
    fs::create_directories(folder);
    write_stand_in(folder + "/" + artifact(version), version, behaviour);
    write_file(folder + "/sha256sum.txt",
               sha256sum(folder + "/" + artifact(version)) + "  " + artifact(version) + "\n");
  }
  std::vector<std::string> wrap_providers(const std::string& poll_interval,
                                          const std::string& extra_osmo = "",
                                          const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> argv{
        visor_binary(),
        "wrap",
        "--home",
        home(),
        "--profile",
        "lava-provider",
        "--lava-rest",
        chain_.url(),
        "--poll-interval",
        poll_interval,
        "--allow-http",
        "--healthy-after",
        "1s",
        "--backoff-initial",
        "200ms",
        "--download-url",
        releases_.url() + "/v{version}/lavap-v{version}-{os}-{arch}",
        "--checksum-url",
        releases_.url() + "/v{version}/sha256sum.txt",
        "--child",
        "eth=lavap rpcprovider eth.yml --from provider1" + follow("eth"),
        "--child",
        "osmo=lavap rpcprovider osmo.yml --from provider1" + follow("osmo") + extra_osmo,
        "--child",
        "near=lavap rpcprovider near.yml --from provider1" + follow("near")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  /// A hook that only writes "<label> start <ms>" to the shared event log (the test child).
  std::string hook(const std::string& label) const {
    return test_child_binary() + " --label " + label + " --event-log " + (dir_ / "events") +
           " --exit 0";
  }
  int polls() const { return count_occurrences(read_file(dir_ / "chain.log"), "/lavanet"); }
  bool all_running(const std::string& version) const {
    for (const char* name : {"eth", "osmo", "near"}) {
      if (!running(name, version) || pids(name).empty() || !alive(pids(name).back())) return false;
    }
    return true;
  }
  /// Exactly one live process per provider: no child of another version is left behind.
  bool one_process_each() const {
    for (const char* name : {"eth", "osmo", "near"}) {
      int live = 0;
      for (const pid_t pid : pids(name)) live += alive(pid) ? 1 : 0;
      if (live != 1) return false;
    }
    return true;
  }

  Server chain_;
};

TEST_F(ServiceSetLava, ThreeProvidersArePolledOnceAndUpgradedTogetherWithOneDownload) {
  publish("5.3.0");
  start_release_server();
  Process visor(wrap_providers(
                    "500ms", "",
                    {"--pre-upgrade", hook("pre-upgrade"), "--post-upgrade", hook("post-upgrade")}),
                log(), environment());
  ASSERT_TRUE(wait_until([&] { return all_running("5.2.1"); }, 15s)) << visor.output();
  for (const char* name : {"eth", "osmo", "near"}) {
    EXPECT_EQ(argv_of(name)[1], std::string(name) + ".yml") << name;
  }

  // One poll per interval for the whole set, not one per provider.
  ASSERT_TRUE(wait_until([&] { return polls() >= 1; }, 10s)) << visor.output();
  const int polls_before = polls();
  const auto window_start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(4s);
  const int polled = polls() - polls_before;
  const double intervals =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count() / 0.5;
  EXPECT_GE(polled, 3) << "the chain is asked every interval";
  EXPECT_LE(polled, static_cast<int>(intervals) + 2)
      << polled << " polls in " << intervals << " intervals: more than one poll per interval";

  // One provider crashes: only it restarts; the others keep their processes.
  const pid_t eth = pids("eth")[0];
  const pid_t near = pids("near")[0];
  fs::remove(argv_file("osmo"));
  ASSERT_EQ(::kill(pids("osmo")[0], SIGKILL), 0);
  ASSERT_TRUE(wait_until([&] { return started_and_alive("osmo", 2); }, 15s)) << visor.output();
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(pids("eth"), std::vector<pid_t>{eth});
  EXPECT_EQ(pids("near"), std::vector<pid_t>{near});
  EXPECT_TRUE(alive(eth));
  EXPECT_TRUE(alive(near));
  EXPECT_TRUE(signals("eth").empty());
  EXPECT_TRUE(signals("near").empty());

  // The chain wants 5.3.0: one download and one checksum file for the three, all switched.
  write_file(dir_ / "params.json", lava_params("5.0.0", "5.3.0"));
  ASSERT_TRUE(wait_until([&] { return all_running("5.3.0"); }, 30s)) << visor.output();
  EXPECT_EQ(release_requests(artifact("5.3.0")), 1) << read_file(dir_ / "requests.log");
  EXPECT_EQ(release_requests("/v5.3.0/sha256sum.txt"), 1) << read_file(dir_ / "requests.log");
  EXPECT_EQ(current_target(), "upgrades/5.3.0");
  EXPECT_TRUE(fs::exists(home() + "/upgrades/5.3.0/lavap"));
  for (const char* name : {"eth", "osmo", "near"}) {
    EXPECT_EQ(signals(name), std::vector<std::string>{"TERM"}) << name << ": stopped once";
  }
  EXPECT_EQ(children_with("term"), (std::vector<std::string>{"near", "osmo", "eth"}));
  // The hooks run once for the set: pre-upgrade after every provider stopped and before any
  // started again, post-upgrade once all three passed probation (--healthy-after 1s).
  ASSERT_TRUE(wait_until(
      [&] {
        const auto all = events();
        return std::any_of(all.begin(), all.end(),
                           [](const ChildEvent& event) { return event.child == "post-upgrade"; });
      },
      10s))
      << read_file(dir_ / "events") << visor.output();
  const auto all = events();
  std::vector<std::string> around_the_switch;
  long long last_start_ms = 0;
  long long post_ms = 0;
  bool after_pre = false;
  for (const auto& event : all) {
    if (event.child == "pre-upgrade") after_pre = true;
    if (event.child == "post-upgrade") post_ms = event.at_ms;
    if (event.what == "exit" || event.child == "pre-upgrade" || event.child == "post-upgrade" ||
        after_pre) {
      around_the_switch.push_back(event.what == "start" && event.child != "pre-upgrade" &&
                                          event.child != "post-upgrade"
                                      ? "new start"
                                      : event.child + " " + event.what);
    }
    if (after_pre && event.what == "start" && event.child != "post-upgrade") {
      last_start_ms = std::max(last_start_ms, event.at_ms);
    }
  }
  EXPECT_EQ(around_the_switch,
            (std::vector<std::string>{"near exit", "osmo exit", "eth exit", "pre-upgrade start",
                                      "new start", "new start", "new start", "post-upgrade start"}))
      << read_file(dir_ / "events");
  EXPECT_GE(post_ms - last_start_ms, 900) << read_file(dir_ / "events");
  std::this_thread::sleep_for(2s);  // past probation: still one process each, on 5.3.0
  EXPECT_TRUE(all_running("5.3.0"));
  EXPECT_TRUE(one_process_each());
  EXPECT_FALSE(marked_failed("5.3.0")) << read_file(home() + "/state.json");
  EXPECT_EQ(release_requests(artifact("5.3.0")), 1);
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(20s), 128 + SIGTERM) << visor.output();
}

TEST_F(ServiceSetLava, ANewVersionCrashingInOneProviderRollsBackTheWholeSet) {
  // 5.3.0 exits at once when started with osmo's marker argument; eth and near run it fine.
  publish("5.3.0", R"(for word in "$@"; do [ "$word" = crash-on-5.3.0 ] && exit 3; done)");
  start_release_server();
  Process visor(wrap_providers("300ms", " --print crash-on-5.3.0"), log(), environment());
  ASSERT_TRUE(wait_until([&] { return all_running("5.2.1"); }, 15s)) << visor.output();

  write_file(dir_ / "params.json", lava_params("5.0.0", "5.3.0"));
  ASSERT_TRUE(wait_until([&] { return marked_failed("5.3.0"); }, 30s)) << visor.output();
  ASSERT_TRUE(wait_until([&] { return all_running("5.2.1") && one_process_each(); }, 20s))
      << visor.output();
  EXPECT_EQ(current_target(), "upgrades/5.2.1");
  // The chain still asks for 5.3.0 for several polls: it is not tried again, and every
  // provider stays on 5.2.1.
  const std::vector<std::size_t> starts{pids("eth").size(), pids("osmo").size(),
                                        pids("near").size()};
  std::this_thread::sleep_for(3s);
  EXPECT_TRUE(all_running("5.2.1"));
  EXPECT_TRUE(one_process_each());
  EXPECT_EQ(
      (std::vector<std::size_t>{pids("eth").size(), pids("osmo").size(), pids("near").size()}),
      starts);
  EXPECT_EQ(current_target(), "upgrades/5.2.1");
  EXPECT_EQ(release_requests(artifact("5.3.0")), 1);
  const auto status = status_json();
  ASSERT_TRUE(status.contains("children")) << status;
  for (const auto& child : status["children"]) {
    EXPECT_EQ(child.value("version", ""), "5.2.1") << child;
  }
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(20s), 128 + SIGTERM) << visor.output();
}

// Two providers run lavap and a third runs lavad: the bare artifacts are fetched through {name},
// once per distinct binary name, with one checksum file for the version.
TEST_F(ServiceSetLava, BareArtifactsAreFetchedOncePerDistinctBinaryName) {
  write_stand_in(dir_ / "bin/lavad", "5.2.1");
  const std::string folder = dir_ / "releases/v5.3.0";
  fs::create_directories(folder);
  std::string sums;
  for (const std::string name : {"lavap", "lavad"}) {
    const std::string file = name + "-v5.3.0-linux-" + host_arch_name();
    write_stand_in(folder + "/" + file, "5.3.0");
    sums += sha256sum(folder + "/" + file) + "  " + file + "\n";
  }
  write_file(folder + "/sha256sum.txt", sums);
  start_release_server();
  write_file(dir_ / "params.json", lava_params("5.0.0", "5.3.0"));
  Process visor({visor_binary(),
                 "wrap",
                 "--home",
                 home(),
                 "--profile",
                 "lava-provider",
                 "--lava-rest",
                 chain_.url(),
                 "--poll-interval",
                 "300ms",
                 "--allow-http",
                 "--healthy-after",
                 "1s",
                 "--download-url",
                 releases_.url() + "/v{version}/{name}-v{version}-{os}-{arch}",
                 "--checksum-url",
                 releases_.url() + "/v{version}/sha256sum.txt",
                 "--child",
                 "eth=lavap rpcprovider eth.yml" + follow("eth"),
                 "--child",
                 "osmo=lavap rpcprovider osmo.yml" + follow("osmo"),
                 "--child",
                 "near=lavad start" + follow("near")},
                log(), environment());
  ASSERT_TRUE(wait_until([&] { return all_running("5.3.0"); }, 30s)) << visor.output();
  EXPECT_EQ(release_requests("/lavap-v5.3.0-"), 1) << read_file(dir_ / "requests.log");
  EXPECT_EQ(release_requests("/lavad-v5.3.0-"), 1) << read_file(dir_ / "requests.log");
  EXPECT_EQ(release_requests("/v5.3.0/sha256sum.txt"), 1) << read_file(dir_ / "requests.log");
  EXPECT_EQ(sha256sum(home() + "/upgrades/5.3.0/lavap"),
            sha256sum(folder + "/lavap-v5.3.0-linux-" + host_arch_name()));
  EXPECT_EQ(sha256sum(home() + "/upgrades/5.3.0/lavad"),
            sha256sum(folder + "/lavad-v5.3.0-linux-" + host_arch_name()));
  EXPECT_EQ(argv_of("near")[0], "start");
  EXPECT_EQ(current_target(), "upgrades/5.3.0");
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(20s), 128 + SIGTERM) << visor.output();
}

// --- Per-child keys of the config file ----------------------------------------------------------

class ServiceSetChildren : public ServiceSetUpgrade {
 protected:
  void SetUp() override {
    ServiceSetUpgrade::SetUp();
    write_stand_in(dir_ / "bin/node", "1.0.0");
    fs::create_directories(dir_ / "v1.1.0");
    write_stand_in(dir_ / "v1.1.0/node", "1.1.0");
  }
  ::testing::AssertionResult add_upgrade(const std::string& version, const std::string& file) {
    Process add({visor_binary(), "add-upgrade", version, file, "--home", home()}, dir_ / "add.log");
    const auto status = add.wait(20s);
    if (status != 0) return ::testing::AssertionFailure() << add.output();
    return ::testing::AssertionSuccess();
  }
  bool all_running(const std::vector<std::string>& names, const std::string& version) const {
    for (const auto& name : names) {
      if (!running(name, version) || !alive(pids(name).back())) return false;
    }
    return true;
  }
};

TEST_F(ServiceSetChildren, UpgradeArgsStdinFileAndReadyPatternPerChild) {
  write_file(dir_ / "alpha-secret", "alpha-password");
  write_file(dir_ / "bravo-secret", "bravo-password");
  const nlohmann::json config = {
      {"healthy-after", "1s"},
      {"upgrade-args", "--set-upgraded {version}"},
      {"children",
       {{{"name", "alpha"},
         {"cmd", "node run" + follow("alpha") + " --stdin-copy " + (dir_ / "alpha.stdin")},
         {"stdin-file", dir_ / "alpha-secret"},
         {"upgrade-args", "--alpha-upgraded {version}"}},
        {{"name", "bravo"},
         {"cmd", "node run" + follow("bravo") + " --stdin-copy " + (dir_ / "bravo.stdin")},
         {"stdin-file", dir_ / "bravo-secret"}},
        {{"name", "charlie"},
         {"cmd", "node run" + follow("charlie")},
         {"ready-pattern", "^running-1\\.1\\.0$"}}}}};
  write_file(dir_ / "config.json", config.dump(2));
  Process visor({visor_binary(), "wrap", "--home", home(), "--config", dir_ / "config.json"}, log(),
                environment());
  const std::vector<std::string> names{"alpha", "bravo", "charlie"};
  ASSERT_TRUE(wait_until([&] { return all_running(names, "1.0.0"); }, 15s)) << visor.output();
  EXPECT_EQ(read_lines(dir_ / "alpha.stdin"), std::vector<std::string>{"stdin:alpha-password"});
  EXPECT_EQ(read_lines(dir_ / "bravo.stdin"), std::vector<std::string>{"stdin:bravo-password"});
  for (const auto& name : names) {
    EXPECT_FALSE(contains(argv_of(name), "--set-upgraded")) << name;
    EXPECT_FALSE(contains(argv_of(name), "--alpha-upgraded")) << name;
  }
  EXPECT_EQ(visor.output().find("password"), std::string::npos) << "stdin is never logged";

  ASSERT_TRUE(add_upgrade("1.1.0", dir_ / "v1.1.0/node"));
  ASSERT_TRUE(wait_until([&] { return all_running(names, "1.1.0"); }, 20s)) << visor.output();
  // Each child's own upgrade-args, else the set's; {version} filled in.
  EXPECT_EQ(value_after(argv_of("alpha"), "--alpha-upgraded"), "1.1.0")
      << ::testing::PrintToString(argv_of("alpha"));
  EXPECT_FALSE(contains(argv_of("alpha"), "--set-upgraded"));
  EXPECT_EQ(value_after(argv_of("bravo"), "--set-upgraded"), "1.1.0")
      << ::testing::PrintToString(argv_of("bravo"));
  EXPECT_EQ(value_after(argv_of("charlie"), "--set-upgraded"), "1.1.0")
      << ::testing::PrintToString(argv_of("charlie"));
  EXPECT_EQ(read_lines(dir_ / "alpha.stdin"),
            (std::vector<std::string>{"stdin:alpha-password", "stdin:alpha-password"}));
  EXPECT_EQ(read_lines(dir_ / "bravo.stdin"),
            (std::vector<std::string>{"stdin:bravo-password", "stdin:bravo-password"}));
  // charlie printed its ready pattern and nobody crashed: the upgrade holds.
  std::this_thread::sleep_for(2500ms);
  EXPECT_TRUE(all_running(names, "1.1.0")) << visor.output();
  EXPECT_EQ(current_target(), "upgrades/1.1.0");
  EXPECT_FALSE(marked_failed("1.1.0")) << read_file(home() + "/state.json");
  EXPECT_EQ(visor.output().find("password"), std::string::npos) << "stdin is never logged";
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(20s), 128 + SIGTERM) << visor.output();
}

TEST_F(ServiceSetChildren, AReadyPatternNeverPrintedRollsBackTheWholeSet) {
  const nlohmann::json config = {{"healthy-after", "1s"},
                                 {"children",
                                  {{{"name", "alpha"},
                                    {"cmd", "node run" + follow("alpha")},
                                    {"ready-pattern", "^running-1\\.1\\.0$"}},
                                   {{"name", "bravo"},
                                    {"cmd", "node run" + follow("bravo")},
                                    {"ready-pattern", "^never printed$"}}}}};
  write_file(dir_ / "config.json", config.dump(2));
  Process visor({visor_binary(), "wrap", "--home", home(), "--config", dir_ / "config.json"}, log(),
                environment());
  const std::vector<std::string> names{"alpha", "bravo"};
  ASSERT_TRUE(wait_until([&] { return all_running(names, "1.0.0"); }, 15s)) << visor.output();

  ASSERT_TRUE(add_upgrade("1.1.0", dir_ / "v1.1.0/node"));
  ASSERT_TRUE(wait_until([&] { return all_running(names, "1.1.0"); }, 20s)) << visor.output();
  ASSERT_TRUE(wait_until([&] { return marked_failed("1.1.0"); }, 20s)) << visor.output();
  ASSERT_TRUE(wait_until([&] { return all_running(names, "1.0.0"); }, 20s)) << visor.output();
  EXPECT_EQ(current_target(), "upgrades/1.0.0");
  std::this_thread::sleep_for(1500ms);
  EXPECT_TRUE(all_running(names, "1.0.0"));
  for (const auto& name : names) {
    int live = 0;
    for (const pid_t pid : pids(name)) live += alive(pid) ? 1 : 0;
    EXPECT_EQ(live, 1) << name;
  }
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(20s), 128 + SIGTERM) << visor.output();
}

}  // namespace
}  // namespace visor::e2e
