// End-to-end: the real build/visor against each upgrade source, with real servers and files.
#include <signal.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include "e2e_util.h"

namespace visor::e2e {
namespace {

namespace fs = std::filesystem;

std::string lava_params(const std::string& min, const std::string& target) {
  return R"({"params":{"version":{"provider_target":")" + target + R"(","provider_min":")" + min +
         R"(","consumer_target":")" + target + R"(","consumer_min":")" + min + R"("}}})";
}

// Resident memory of a process in KiB, from /proc.
long rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// `visor status --json` of `home`, parsed; discarded when it did not print JSON.
nlohmann::json status_json(const std::string& home) {
  const CommandResult result =
      run_command("'" + visor_binary() + "' status --json --home '" + home + "'", false);
  return nlohmann::json::parse(result.output, nullptr, false);
}

// What `visor status` of `home` prints (stdout).
std::string status_text(const std::string& home) {
  return run_command("'" + visor_binary() + "' status --home '" + home + "'", false).output;
}

class Sources : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "bin");
    fs::create_directories(dir_ / "releases");
  }
  std::map<std::string, std::string> environment() const {
    const char* path = std::getenv("PATH");
    return {{"PATH", (dir_ / "bin") + ":" + (path ? path : "/usr/bin:/bin")}};
  }
  void start_release_server() {
    releases_ = start_server("release_server.py",
                             {"--dir", dir_ / "releases", "--log", dir_ / "requests.log"},
                             dir_ / "releases.out");
  }
  int artifact_requests(const std::string& needle) const {
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

  TempDir dir_;
  Server releases_;
};

TEST_F(Sources, LavaMinPolicyPreStagesTargetThenSwitchesWithoutDownloading) {
  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  const std::string file = "lavap-v5.3.0-linux-" + host_arch_name();
  fs::create_directories(dir_ / "releases/v5.3.0");
  write_stand_in(dir_ / ("releases/v5.3.0/" + file), "5.3.0");
  write_file(dir_ / "releases/v5.3.0/sha256sum.txt",
             sha256sum(dir_ / ("releases/v5.3.0/" + file)) + "  " + file + "\n");
  start_release_server();
  write_file(dir_ / "params.json", lava_params("5.0.0", "5.3.0"));
  Server chain =
      start_server("lava_chain.py", {"--params", dir_ / "params.json"}, dir_ / "chain.out");

  Process visor({visor_binary(),
                 "wrap",
                 "--home",
                 home(),
                 "--source",
                 "lava",
                 "--lava-rest",
                 chain.url(),
                 "--upgrade-at",
                 "min",
                 "--poll-interval",
                 "200ms",
                 "--allow-http",
                 "--healthy-after",
                 "1s",
                 "--download-url",
                 releases_.url() + "/v{version}/lavap-v{version}-{os}-{arch}",
                 "--checksum-url",
                 releases_.url() + "/v{version}/sha256sum.txt",
                 "--cmd",
                 "lavap rpcprovider" + child_flags()},
                dir_ / "visor.log", environment());
  // Pre-staged in the background while 5.2.1 keeps running.
  ASSERT_TRUE(wait_until([&] { return fs::exists(home() + "/upgrades/5.3.0/lavap"); }, 20s))
      << visor.output();
  EXPECT_EQ(artifact_requests(file), 1);
  std::this_thread::sleep_for(600ms);  // several polls: still no switch, the child is not disturbed
  EXPECT_TRUE(running("5.2.1"));
  EXPECT_EQ(pids().size(), 1u);

  // Now the running version falls below min: the switch needs no download.
  replace_file(dir_ / "params.json", lava_params("5.3.0", "5.3.0"));
  ASSERT_TRUE(wait_until([&] { return running("5.3.0"); }, 20s)) << visor.output();
  EXPECT_EQ(artifact_requests(file), 1) << read_file(dir_ / "requests.log");
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

TEST_F(Sources, BadLavaRepliesNeverDisturbTheChildAndMemoryStaysFlat) {
  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  write_file(dir_ / "params.json", lava_params("5.0.0", "5.2.1"));
  Server chain =
      start_server("lava_chain.py", {"--params", dir_ / "params.json"}, dir_ / "chain.out");
  Process visor({visor_binary(), "wrap", "--home", home(), "--source", "lava", "--lava-rest",
                 chain.url(), "--poll-interval", "200ms", "--request-timeout", "1s", "--cmd",
                 "lavap rpcprovider" + child_flags()},
                dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("5.2.1"); }, 15s)) << visor.output();
  std::this_thread::sleep_for(500ms);
  const long rss_before = rss_kib(visor.pid());

  const std::vector<std::pair<std::string, std::string>> bad_replies{
      {"STATUS 500\ninternal error", "HTTP 500"},
      {"this is not json", "JSON"},
      {R"({"params":{"version":{"provider_target":17}}})", "provider"},
      {std::string(50 << 20, ' ') + "{}", "larger than"},
      {"STALL", "timed out"},
  };
  for (const auto& [reply, expected] : bad_replies) {
    const size_t log_before = visor.output().size();
    replace_file(dir_ / "params.json", reply);
    ASSERT_TRUE(wait_until(
        [&] { return visor.output().find(expected, log_before) != std::string::npos; }, 15s))
        << "expected a line with '" << expected << "'\n"
        << visor.output().substr(log_before);
    EXPECT_TRUE(visor.running());
    EXPECT_EQ(pids().size(), 1u);
  }
  const long rss_after = rss_kib(visor.pid());
  // A 50 MB reply must not be held: visor's memory stays within a few MiB of where it was.
  EXPECT_LT(rss_after - rss_before, 16 * 1024)
      << "RSS grew from " << rss_before << " to " << rss_after << " KiB";
  EXPECT_TRUE(running("5.2.1"));
  replace_file(dir_ / "params.json", lava_params("5.0.0", "5.2.1"));
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

// `visor status` shows what the network asks now and the last poll and its result (the
// contract's status command): the Lava min/target of the role, then a failed poll as failed,
// with the last good reading kept.
TEST_F(Sources, StatusShowsWhatLavaAsksAndTheLastPoll) {
  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  write_file(dir_ / "params.json", lava_params("4.2.1", "5.2.1"));
  Server chain =
      start_server("lava_chain.py", {"--params", dir_ / "params.json"}, dir_ / "chain.out");
  Process visor(
      {visor_binary(), "wrap", "--home", home(), "--source", "lava", "--lava-rest", chain.url(),
       "--poll-interval", "200ms", "--cmd", "lavap rpcprovider" + child_flags()},
      dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("5.2.1"); }, 15s)) << visor.output();
  nlohmann::json status;
  ASSERT_TRUE(wait_until(
      [&] {
        status = status_json(home());
        return status.is_object() && status["asks"].is_object() && status["last_poll"].is_object();
      },
      10s))
      << status.dump();
  EXPECT_EQ(status["asks"], (nlohmann::json{{"min", "4.2.1"}, {"target", "5.2.1"}}));
  EXPECT_EQ(status["last_poll"]["ok"], true);
  // --cmd is a set of one child named after its binary, listed like a set's children.
  ASSERT_EQ(status["children"].size(), 1u) << status.dump();
  EXPECT_EQ(status["children"][0]["name"], "lavap");
  EXPECT_EQ(status["children"][0]["state"], "running");
  EXPECT_EQ(status["children"][0]["version"], "5.2.1");
  EXPECT_EQ(status["children"][0]["pid"], std::stoi(pids().at(0)));
  const std::string text = status_text(home());
  EXPECT_NE(text.find("min 4.2.1, target 5.2.1"), std::string::npos) << text;
  EXPECT_NE(text.find("lava, last poll"), std::string::npos) << text;

  replace_file(dir_ / "params.json", "STATUS 500\ninternal error");
  ASSERT_TRUE(wait_until(
      [&] {
        status = status_json(home());
        return status.is_object() && status["last_poll"].is_object() &&
               status["last_poll"]["ok"] == false;
      },
      10s))
      << status.dump();
  EXPECT_EQ(status["asks"]["target"], "5.2.1");  // the last good reading
  const std::string failed = status_text(home());
  EXPECT_NE(failed.find("failed"), std::string::npos) << failed;
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

// A switch scheduled with `add-upgrade --height` is a pending upgrade: `visor status` names it.
TEST_F(Sources, StatusNamesASwitchScheduledAtAHeight) {
  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  write_stand_in(dir_ / "lavap-new", "5.4.0");
  const std::string visor = "'" + visor_binary() + "'";
  ASSERT_EQ(
      run_command(visor + " init --home '" + home() + "' --import '" + (dir_ / "bin/lavap") + "'")
          .status,
      0);
  const CommandResult added = run_command(visor + " add-upgrade 5.4.0 '" + (dir_ / "lavap-new") +
                                          "' --height 2150000 --home '" + home() + "'");
  ASSERT_EQ(added.status, 0) << added.output;
  const std::string text = status_text(home());
  EXPECT_NE(text.find("pending:  5.4.0 at block height 2150000"), std::string::npos) << text;
  EXPECT_EQ(text.find("pending:  (none)"), std::string::npos) << text;
}

// A poll is waiting on a chain that never answers (deadline 60 s) when visor is told to stop:
// the request is cancelled, and visor stops the child and exits without waiting it out.
TEST_F(Sources, StoppingDoesNotWaitForAHangingPoll) {
  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  write_file(dir_ / "params.json", lava_params("5.0.0", "5.2.1"));
  Server chain =
      start_server("lava_chain.py", {"--params", dir_ / "params.json", "--log", dir_ / "chain.log"},
                   dir_ / "chain.out");
  Process visor({visor_binary(), "wrap", "--home", home(), "--source", "lava", "--lava-rest",
                 chain.url(), "--poll-interval", "100ms", "--request-timeout", "60s", "--cmd",
                 "lavap rpcprovider" + child_flags()},
                dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("5.2.1"); }, 15s)) << visor.output();
  replace_file(dir_ / "params.json", "STALL");
  // The chain logs the moment a request starts to hang.
  ASSERT_TRUE(wait_until(
      [&] { return read_file(dir_ / "chain.log").find("\"stalled\"") != std::string::npos; }, 15s));
  std::this_thread::sleep_for(1s);  // well inside the stalled request
  const auto stop_sent = std::chrono::steady_clock::now();
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(30s), 128 + SIGTERM) << visor.output();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_sent, 20s)
      << "waited for the 60 s request deadline";
}

class VegaSource : public Sources {
 protected:
  void set_status(const std::string& tag, std::uint64_t height, bool ready) {
    nlohmann::json result = {
        {"AcceptedReleaseInfo", {{"VegaReleaseTag", tag}, {"UpgradeBlockHeight", height}}},
        {"ReadyToUpgrade", ready}};
    replace_file(dir_ / "control.json",
                 nlohmann::json({{"result", result}, {"error", nullptr}}).dump());
  }
};

TEST_F(VegaSource, PreStagesTheAcceptedZipAndSwitchesWithTheHeightWhenReady) {
  write_stand_in(dir_ / "bin/vega", "0.79.0");
  // The release: a zip holding `vega`, as Vega publishes them, with a checksum file beside it.
  fs::create_directories(dir_ / "build-zip");
  write_stand_in(dir_ / "build-zip/vega", "0.80.0");
  const std::string zip = "vega-linux-" + host_arch_name() + ".zip";
  fs::create_directories(dir_ / "releases/v0.80.0");
  ASSERT_EQ(std::system(("cd '" + (dir_ / "build-zip") + "' && zip -q '" +
                         (dir_ / ("releases/v0.80.0/" + zip)) + "' vega")
                            .c_str()),
            0);
  write_file(dir_ / "releases/v0.80.0/sha256sum.txt",
             sha256sum(dir_ / ("releases/v0.80.0/" + zip)) + "  " + zip + "\n");
  start_release_server();
  replace_file(
      dir_ / "control.json",
      R"({"result": {"AcceptedReleaseInfo": null, "ReadyToUpgrade": false}, "error": null})");
  const std::string socket = dir_ / "vega.sock";
  Process node({"/usr/bin/python3", std::string(VISOR_SOURCE_DIR) + "/tests/sources/vega_server.py",
                "--socket", socket, "--control", dir_ / "control.json", "--log", dir_ / "rpc.log"},
               dir_ / "vega-server.out");
  ASSERT_TRUE(wait_until([&] { return fs::exists(socket); }, 10s)) << node.output();

  Process visor(
      {visor_binary(), "wrap", "--home", home(), "--profile", "vega", "--vega-admin-socket", socket,
       "--poll-interval", "200ms", "--allow-http", "--healthy-after", "1s", "--download-url",
       releases_.url() + "/{tag}/vega-{os}-{arch}.zip", "--checksum-url",
       releases_.url() + "/{tag}/sha256sum.txt", "--cmd",
       "vega start --home /srv/vega" + child_flags()},
      dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("0.79.0"); }, 15s)) << visor.output();
  ASSERT_TRUE(wait_until(
      [&] { return count_occurrences(read_file(dir_ / "rpc.log"), "POST /rpc") >= 2; }, 10s));

  set_status("v0.80.0", 12345, false);
  ASSERT_TRUE(wait_until([&] { return fs::exists(home() + "/upgrades/0.80.0/vega"); }, 20s))
      << visor.output();
  EXPECT_TRUE(running("0.79.0"));
  EXPECT_EQ(pids().size(), 1u);

  set_status("v0.80.0", 12345, true);
  ASSERT_TRUE(wait_until([&] { return running("0.80.0"); }, 20s)) << visor.output();
  EXPECT_EQ(
      read_lines(dir_ / "argv"),
      (std::vector<std::string>{"start", "--home", "/srv/vega", "--argv-file", dir_ / "argv",
                                "--pid-file", dir_ / "pids", "--snapshot.load-from-block-height",
                                "12345", "--print", "running-0.80.0"}));
  EXPECT_EQ(count_occurrences(read_file(dir_ / "requests.log"), zip), 1);
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

// `visor status` shows the release the Vega network accepted, its height and ReadyToUpgrade.
TEST_F(VegaSource, StatusShowsTheAcceptedRelease) {
  write_stand_in(dir_ / "bin/vega", "0.79.0");
  set_status("v0.80.0", 12345, false);
  const std::string socket = dir_ / "vega.sock";
  Process node({"/usr/bin/python3", std::string(VISOR_SOURCE_DIR) + "/tests/sources/vega_server.py",
                "--socket", socket, "--control", dir_ / "control.json", "--log", dir_ / "rpc.log"},
               dir_ / "vega-server.out");
  ASSERT_TRUE(wait_until([&] { return fs::exists(socket); }, 10s)) << node.output();
  Process visor(
      {visor_binary(), "wrap", "--home", home(), "--source", "vega", "--vega-admin-socket", socket,
       "--poll-interval", "200ms", "--cmd", "vega start" + child_flags()},
      dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("0.79.0"); }, 15s)) << visor.output();
  nlohmann::json status;
  ASSERT_TRUE(wait_until(
      [&] {
        status = status_json(home());
        return status.is_object() && status["asks"].is_object();
      },
      10s))
      << status.dump();
  EXPECT_EQ(status["asks"]["release"], "v0.80.0");
  EXPECT_EQ(status["asks"]["height"], 12345);
  EXPECT_EQ(status["asks"]["ready_to_upgrade"], false);
  EXPECT_EQ(status["last_poll"]["ok"], true);
  const std::string text = status_text(home());
  EXPECT_NE(text.find("release v0.80.0 at height 12345"), std::string::npos) << text;
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

TEST_F(VegaSource, AMissingSocketAndErrorRepliesLeaveTheNodeRunning) {
  write_stand_in(dir_ / "bin/vega", "0.79.0");
  const std::string socket = dir_ / "vega.sock";
  Process visor({visor_binary(), "wrap", "--home", home(), "--source", "vega",
                 "--vega-admin-socket", socket, "--poll-interval", "200ms", "--request-timeout",
                 "1s", "--cmd", "vega start" + child_flags()},
                dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("0.79.0"); }, 15s)) << visor.output();
  ASSERT_TRUE(wait_until(
      [&] { return visor.output().find("does not exist yet") != std::string::npos; }, 10s))
      << visor.output();
  replace_file(dir_ / "control.json", R"({"result": null, "error": "node is not a validator"})");
  Process node({"/usr/bin/python3", std::string(VISOR_SOURCE_DIR) + "/tests/sources/vega_server.py",
                "--socket", socket, "--control", dir_ / "control.json", "--log", dir_ / "rpc.log"},
               dir_ / "vega-server.out");
  ASSERT_TRUE(wait_until(
      [&] { return visor.output().find("node is not a validator") != std::string::npos; }, 15s))
      << visor.output();
  replace_file(dir_ / "control.json", R"({"result": null, "error": null, "mode": "garbage"})");
  const size_t before = visor.output().size();
  ASSERT_TRUE(wait_until(
      [&] {
        return visor.output().size() > before &&
               visor.output().find("vega", before) != std::string::npos;
      },
      15s));
  EXPECT_TRUE(visor.running());
  EXPECT_EQ(pids().size(), 1u);
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

class CosmosSource : public Sources {
 protected:
  void SetUp() override {
    Sources::SetUp();
    fs::create_directories(dir_ / "chain/data");
    write_stand_in(dir_ / "bin/simd", "1.0.0");
  }
  std::string info_file() const { return dir_ / "chain/data/upgrade-info.json"; }
  std::vector<std::string> wrap(std::vector<std::string> extra = {}) const {
    std::vector<std::string> argv{
        visor_binary(),    "wrap",   "--home",         home(),
        "--profile",       "cosmos", "--upgrade-info", info_file(),
        "--healthy-after", "1s",     "--cmd",          "simd start" + child_flags()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
};

TEST_F(CosmosSource, AFileWrittenLaterWithABinariesMapUpgradesOnce) {
  fs::create_directories(dir_ / "releases/v2");
  write_stand_in(dir_ / "releases/v2/simd", "2.0.0");
  start_release_server();
  Process visor(wrap({"--allow-http"}), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("1.0.0"); }, 15s)) << visor.output();

  const std::string url =
      releases_.url() + "/v2/simd?checksum=sha256:" + sha256sum(dir_ / "releases/v2/simd");
  nlohmann::json binaries = {{"binaries", {{"linux/" + host_arch_name(), url}}}};
  // The chain writes the file in place (not by rename) when it halts at the upgrade height.
  write_file(
      info_file(),
      nlohmann::json({{"name", "v2.0.0"}, {"height", 1234}, {"info", binaries.dump()}}).dump());
  ASSERT_TRUE(wait_until([&] { return running("2.0.0"); }, 20s)) << visor.output();
  ASSERT_TRUE(
      wait_until([&] { return visor.output().find("succeeded") != std::string::npos; }, 10s));
  const size_t starts = pids().size();
  // The same plan again (the file touched): nothing happens twice.
  write_file(
      info_file(),
      nlohmann::json({{"name", "v2.0.0"}, {"height", 1234}, {"info", binaries.dump()}}).dump());
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(pids().size(), starts);
  EXPECT_EQ(count_occurrences(read_file(dir_ / "requests.log"), "/v2/simd"), 1);
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

TEST_F(CosmosSource, AStagedNamedPlanIsUsedWhenTheFileIsReplacedByRename) {
  Process visor(wrap(), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("1.0.0"); }, 15s)) << visor.output();
  // The operator stages the binary by hand for a plan that is not named after a version.
  write_stand_in(dir_ / "simd", "2.0.0");
  Process add({visor_binary(), "add-upgrade", "2.0.0", dir_ / "simd", "--home", home(), "--plan",
               "gov-upgrade-2"},
              dir_ / "add.log");
  ASSERT_EQ(add.wait(15s), 0) << add.output();
  // A half-written file is ignored until it parses.
  write_file(info_file(), R"({"name":"gov-upgr)");
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(running("1.0.0"));
  replace_file(info_file(), R"({"name":"gov-upgrade-2","height":99,"info":""})");
  ASSERT_TRUE(wait_until([&] { return running("2.0.0"); }, 20s)) << visor.output();
  EXPECT_EQ(fs::read_symlink(home() + "/current").string(), "upgrades/2.0.0");
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

TEST_F(CosmosSource, AddUpgradeRefusesAVersionMismatchAndNeverOverwrites) {
  write_stand_in(dir_ / "simd", "2.0.0");
  Process wrong({visor_binary(), "add-upgrade", "2.1.0", dir_ / "simd", "--home", home()},
                dir_ / "wrong.log");
  EXPECT_NE(wrong.wait(15s), 0);
  EXPECT_NE(wrong.output().find("reports version 2.0.0, not 2.1.0"), std::string::npos)
      << wrong.output();
  Process first({visor_binary(), "add-upgrade", "v2.0.0", dir_ / "simd", "--home", home()},
                dir_ / "first.log");
  EXPECT_EQ(first.wait(15s), 0) << first.output();
  Process again({visor_binary(), "add-upgrade", "2.0.0", dir_ / "simd", "--home", home()},
                dir_ / "again.log");
  EXPECT_NE(again.wait(15s), 0);
  EXPECT_EQ(again.wait(15s), 1);
  EXPECT_NE(again.output().find("already staged"), std::string::npos) << again.output();
  EXPECT_NE(again.output().find("add --force to replace it"), std::string::npos) << again.output();
  EXPECT_EQ(sha256sum(home() + "/upgrades/2.0.0/simd"), sha256sum(dir_ / "simd"));
}

}  // namespace
}  // namespace visor::e2e

namespace visor::e2e {
namespace {

TEST_F(Sources, CheckProbesTheConfiguredSource) {
  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  write_file(dir_ / "params.json", lava_params("5.0.0", "5.3.0"));
  Server chain =
      start_server("lava_chain.py", {"--params", dir_ / "params.json"}, dir_ / "chain.out");
  Process good({visor_binary(), "check", "--home", home(), "--source", "lava", "--lava-rest",
                chain.url(), "--cmd", "lavap rpcprovider"},
               dir_ / "good.log", environment());
  EXPECT_EQ(good.wait(15s), 0) << good.output();
  EXPECT_NE(good.output().find("min 5.0.0, target 5.3.0"), std::string::npos) << good.output();
  EXPECT_NE(good.output().find("version 5.2.1"), std::string::npos) << good.output();

  replace_file(dir_ / "params.json", "STATUS 503\nunavailable");
  Process bad({visor_binary(), "check", "--home", home(), "--source", "lava", "--lava-rest",
               chain.url(), "--cmd", "lavap rpcprovider"},
              dir_ / "bad.log", environment());
  // A valid configuration whose endpoint fails: exit 1 (2 is for what wrap would refuse).
  EXPECT_EQ(bad.wait(15s), 1) << bad.output();
  EXPECT_NE(bad.output().find("HTTP 503"), std::string::npos) << bad.output();
}

}  // namespace
}  // namespace visor::e2e

namespace visor::e2e {
namespace {

TEST_F(Sources, WithoutASourceAddUpgradeStagesAndSwitches) {
  write_stand_in(dir_ / "bin/node", "1.0.0");
  Process visor({visor_binary(), "wrap", "--home", home(), "--healthy-after", "1s", "--cmd",
                 "node run" + child_flags()},
                dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("1.0.0"); }, 15s)) << visor.output();

  // --stage-only stages without switching.
  write_stand_in(dir_ / "node-1.1.0", "1.1.0");
  fs::create_directories(dir_ / "v1.1.0");
  fs::copy_file(dir_ / "node-1.1.0", dir_ / "v1.1.0/node");
  Process staged({visor_binary(), "add-upgrade", "1.1.0", dir_ / "v1.1.0/node", "--home", home(),
                  "--stage-only"},
                 dir_ / "staged.log");
  ASSERT_EQ(staged.wait(15s), 0) << staged.output();
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(running("1.0.0"));

  fs::create_directories(dir_ / "v1.2.0");
  write_stand_in(dir_ / "v1.2.0/node", "1.2.0");
  Process add({visor_binary(), "add-upgrade", "1.2.0", dir_ / "v1.2.0/node", "--home", home()},
              dir_ / "add.log");
  ASSERT_EQ(add.wait(15s), 0) << add.output();
  ASSERT_TRUE(wait_until([&] { return running("1.2.0"); }, 15s)) << visor.output();
  ASSERT_TRUE(
      wait_until([&] { return visor.output().find("succeeded") != std::string::npos; }, 10s));
  EXPECT_EQ(fs::read_symlink(home() + "/current").string(), "upgrades/1.2.0");
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);

  // A restarted visor does not act on the old request again.
  Process again({visor_binary(), "wrap", "--home", home(), "--healthy-after", "1s", "--cmd",
                 "node run" + child_flags()},
                dir_ / "again.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("1.2.0"); }, 15s)) << again.output();
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(again.output().find("switching"), std::string::npos) << again.output();
  again.signal(SIGTERM);
  EXPECT_EQ(again.wait(15s), 128 + SIGTERM);
}

}  // namespace
}  // namespace visor::e2e
