// End-to-end: the real build/visor upgrading a stand-in `lavap` from a real local release
// server, driven by a simulated Lava chain.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <thread>

#include "e2e_util.h"

namespace visor::e2e {
namespace {

namespace fs = std::filesystem;

std::string params(const std::string& min, const std::string& target) {
  return R"({"params":{"version":{"provider_target":")" + target + R"(","provider_min":")" + min +
         R"(","consumer_target":")" + target + R"(","consumer_min":")" + min + R"("}}})";
}

class Upgrade : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "bin");
    fs::create_directories(dir_ / "releases");
    // The installed version, found on PATH as `lavap`.
    write_stand_in(dir_ / "bin/lavap", "5.2.1", "");
    write_file(dir_ / "params.json", params("5.0.0", "5.2.1"));
    chain_ = start_server("lava_chain.py", {"--params", dir_ / "params.json"}, dir_ / "chain.log");
  }

  // Publishes `version` on the release server, with its line in sha256sum.txt.
  void publish(const std::string& version, const std::string& behaviour = "",
               std::size_t padding = 0, const std::string& sha_override = "") {
    const std::string folder = dir_ / ("releases/v" + version);
    fs::create_directories(folder);
    const std::string file = "lavap-v" + version + "-linux-" + arch();
    write_stand_in(folder + "/" + file, version, behaviour, padding);
    const std::string sha = sha_override.empty() ? sha256sum(folder + "/" + file) : sha_override;
    write_file(folder + "/sha256sum.txt", sha + "  " + file + "\n");
  }

  static std::string arch() { return host_arch_name(); }

  void start_release_server(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> arguments{"--dir", dir_ / "releases", "--log", dir_ / "requests.log"};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    releases_ = start_server("release_server.py", arguments, dir_ / "releases.log");
  }

  std::vector<std::string> wrap_args(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{visor_binary(),
                                  "wrap",
                                  "--home",
                                  home(),
                                  "--source",
                                  "lava",
                                  "--lava-rest",
                                  chain_.url(),
                                  "--poll-interval",
                                  "200ms",
                                  "--allow-http",
                                  "--healthy-after",
                                  "1s",
                                  "--stop-timeout",
                                  "5s",
                                  "--download-url",
                                  releases_.url() + "/v{version}/lavap-v{version}-{os}-{arch}",
                                  "--checksum-url",
                                  releases_.url() + "/v{version}/sha256sum.txt",
                                  "--cmd",
                                  "lavap rpcprovider 'my config.yml' --geolocation 1 --argv-file " +
                                      (dir_ / "argv") + " --pid-file " + (dir_ / "pids")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  std::map<std::string, std::string> environment() const {
    const char* path = std::getenv("PATH");
    return {{"PATH", (dir_ / "bin") + ":" + (path ? path : "/usr/bin:/bin")}};
  }

  std::string home() const { return dir_ / "home"; }
  std::string current_target() const {
    std::error_code error;
    return fs::read_symlink(home() + "/current", error).string();
  }
  std::vector<std::string> pids() const { return read_lines(dir_ / "pids"); }
  bool running_version(const std::string& version) const {
    return argv_file_says_running(dir_ / "argv", version);
  }

  TempDir dir_;
  Server chain_;
  Server releases_;
};

TEST_F(Upgrade, DownloadVerifySwitchAndRestartKeepTheChildsArguments) {
  publish("5.3.0");
  start_release_server();
  Process visor(wrap_args(), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running_version("5.2.1"); }, 15s)) << visor.output();
  EXPECT_EQ(current_target(), "upgrades/5.2.1");
  const std::string first_pid = pids().front();

  write_file(dir_ / "params.json", params("5.0.0", "5.3.0"));
  ASSERT_TRUE(wait_until([&] { return running_version("5.3.0"); }, 20s)) << visor.output();
  EXPECT_EQ(current_target(), "upgrades/5.3.0");
  EXPECT_EQ(read_lines(dir_ / "argv"),
            (std::vector<std::string>{"rpcprovider", "my config.yml", "--geolocation", "1",
                                      "--argv-file", dir_ / "argv", "--pid-file", dir_ / "pids",
                                      "--print", "running-5.3.0"}));
  ASSERT_TRUE(
      wait_until([&] { return visor.output().find("succeeded") != std::string::npos; }, 10s))
      << visor.output();
  // The old child was stopped gracefully (it died of SIGTERM, not SIGKILL).
  EXPECT_EQ(visor.output().find("SIGKILL"), std::string::npos) << visor.output();
  EXPECT_NE(pids().back(), first_pid);
  const std::string state = read_file(home() + "/state.json");
  EXPECT_NE(state.find("\"current\": \"5.3.0\""), std::string::npos) << state;
  EXPECT_NE(state.find("\"previous\": \"5.2.1\""), std::string::npos) << state;
  // The new binary in the store is byte for byte the published one.
  EXPECT_EQ(sha256sum(home() + "/upgrades/5.3.0/lavap"),
            sha256sum(dir_ / "releases/v5.3.0/lavap-v5.3.0-linux-" + arch()));
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

TEST_F(Upgrade, AWrongChecksumLeavesTheChildAndCurrentUntouched) {
  publish("5.3.0", "", 0, std::string(64, 'a'));
  start_release_server();
  Process visor(wrap_args(), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running_version("5.2.1"); }, 15s)) << visor.output();
  write_file(dir_ / "params.json", params("5.0.0", "5.3.0"));
  ASSERT_TRUE(wait_until(
      [&] { return visor.output().find("checksum mismatch") != std::string::npos; }, 20s))
      << visor.output();
  EXPECT_EQ(count_occurrences(visor.output(), "checksum mismatch"), 1) << visor.output();
  EXPECT_EQ(pids().size(), 1u);
  EXPECT_TRUE(running_version("5.2.1"));
  EXPECT_EQ(current_target(), "upgrades/5.2.1");
  EXPECT_FALSE(fs::exists(home() + "/upgrades/5.3.0"));
  EXPECT_TRUE(visor.running());
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

TEST_F(Upgrade, AnArtifactSourceWithoutAChecksumIsRefusedAtStart) {
  publish("5.3.0");
  start_release_server();
  auto argv = wrap_args();
  // Drop --checksum-url and its value: nothing could verify what --download-url fetches.
  const auto at = std::find(argv.begin(), argv.end(), "--checksum-url");
  argv.erase(at, at + 2);
  Process visor(argv, dir_ / "visor.log", environment());
  EXPECT_EQ(visor.wait(15s), 2) << visor.output();
  EXPECT_NE(visor.output().find("--download-url is set but nothing tells visor the SHA-256"),
            std::string::npos)
      << visor.output();
  EXPECT_NE(visor.output().find("--checksum-url"), std::string::npos) << visor.output();
  // Refused before anything was started or downloaded.
  EXPECT_FALSE(running_version("5.2.1"));
  EXPECT_EQ(read_file(dir_ / "requests.log").find("lavap-v5.3.0"), std::string::npos);
}

TEST_F(Upgrade, ANewVersionThatCrashesIsRolledBackAndMarkedFailed) {
  publish("5.3.0", "echo 'lavap 5.3.0: bad config' >&2; exit 1");
  start_release_server();
  Process visor(wrap_args(), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running_version("5.2.1"); }, 15s)) << visor.output();
  write_file(dir_ / "params.json", params("5.0.0", "5.3.0"));
  ASSERT_TRUE(wait_until(
      [&] { return visor.output().find("rolled back from 5.3.0 to 5.2.1") != std::string::npos; },
      20s))
      << visor.output();
  ASSERT_TRUE(wait_until([&] { return pids().size() == 2 && running_version("5.2.1"); }, 15s))
      << visor.output();
  EXPECT_EQ(current_target(), "upgrades/5.2.1");
  const std::string state = read_file(home() + "/state.json");
  EXPECT_NE(state.find("\"5.3.0\": \"exited with exit code 1"), std::string::npos) << state;
  // The chain keeps asking for 5.3.0; it is not chosen again.
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(pids().size(), 2u) << visor.output();
  EXPECT_TRUE(visor.running());
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

TEST_F(Upgrade, ADroppedConnectionIsResumed) {
  publish("5.3.0", "", 2 << 20);  // a 2 MiB artifact
  start_release_server({"--drop-after", "500000"});
  Process visor(wrap_args(), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running_version("5.2.1"); }, 15s)) << visor.output();
  write_file(dir_ / "params.json", params("5.0.0", "5.3.0"));
  ASSERT_TRUE(wait_until([&] { return running_version("5.3.0"); }, 30s)) << visor.output();
  const std::string requests = read_file(dir_ / "requests.log");
  EXPECT_NE(requests.find("bytes=500000-"), std::string::npos) << requests;
  EXPECT_EQ(sha256sum(home() + "/upgrades/5.3.0/lavap"),
            sha256sum(dir_ / "releases/v5.3.0/lavap-v5.3.0-linux-" + arch()));
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

TEST_F(Upgrade, KillNineAtRandomMomentsNeverBreaksCurrent) {
  publish("5.3.0", "", 4 << 20);
  start_release_server();
  std::mt19937 random(std::random_device{}());
  write_file(dir_ / "params.json", params("5.0.0", "5.3.0"));
  int started = 0;  // trials in which visor got as far as supervising (so the kill hit real work)
  for (int trial = 0; trial < 20; ++trial) {
    const std::string log = dir_ / ("visor-" + std::to_string(trial) + ".log");
    {
      Process visor(wrap_args({"--healthy-after", "300ms"}), log, environment());
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 1200)(random)));
      visor.signal(SIGKILL);
      visor.wait(10s);
      if (visor.output().find("supervising lavap") != std::string::npos) ++started;
    }
    // The child outlives visor's kill -9 (as it would under systemd's KillMode=mixed it would not);
    // stop it so the next trial starts clean.
    for (const auto& pid : pids()) ::kill(std::stoi(pid), SIGKILL);
    std::remove((dir_ / "pids").c_str());
    // `current` always points at a complete binary that reports its version.
    const std::string target = current_target();
    if (target.empty()) continue;  // killed before the first import finished: nothing to check
    ASSERT_TRUE(target == "upgrades/5.2.1" || target == "upgrades/5.3.0") << target;
    const std::string binary = home() + "/" + target + "/lavap";
    struct stat info {};
    ASSERT_EQ(::stat(binary.c_str(), &info), 0) << binary;
    ASSERT_TRUE(info.st_mode & S_IXUSR);
    const std::string version = target.substr(std::string("upgrades/").size());
    EXPECT_EQ(
        sha256sum(binary),
        sha256sum(version == "5.2.1" ? dir_ / "bin/lavap"
                                     : dir_ / "releases/v5.3.0/lavap-v5.3.0-linux-" + arch()));
    for (const auto& entry : fs::directory_iterator(home() + "/upgrades")) {
      EXPECT_TRUE(fs::exists(entry.path() / "lavap")) << entry.path() << " is incomplete";
    }
  }
  EXPECT_GE(started, 10) << "most trials must reach supervision, or the kills proved nothing";
  // After all that, a visor on the same home finishes the upgrade.
  Process visor(wrap_args(), dir_ / "visor-final.log", environment());
  ASSERT_TRUE(wait_until([&] { return running_version("5.3.0"); }, 30s)) << visor.output();
  ASSERT_TRUE(wait_until(
      [&] {
        return visor.output().find("succeeded") != std::string::npos ||
               read_file(home() + "/state.json").find("\"pending\": null") != std::string::npos;
      },
      15s))
      << visor.output();
  EXPECT_EQ(current_target(), "upgrades/5.3.0");
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

}  // namespace
}  // namespace visor::e2e

namespace visor::e2e {
namespace {

TEST_F(Upgrade, HooksLinkAndReadyPattern) {
  publish("5.3.0");
  start_release_server();
  write_file(dir_ / "pre.sh",
             "#!/bin/sh\necho \"pre $VISOR_UPGRADE_FROM -> $VISOR_UPGRADE_VERSION\" >> '" +
                 (dir_ / "hooks.log") + "'\n",
             0755);
  write_file(dir_ / "post.sh",
             "#!/bin/sh\necho \"post $VISOR_UPGRADE_VERSION\" >> '" + (dir_ / "hooks.log") + "'\n",
             0755);
  Process visor(
      wrap_args({"--pre-upgrade", dir_ / "pre.sh", "--post-upgrade", dir_ / "post.sh", "--link",
                 dir_ / "lavap-link", "--ready-pattern", "running-5\\.[0-9]+\\.[0-9]+"}),
      dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running_version("5.2.1"); }, 15s)) << visor.output();
  EXPECT_EQ(fs::canonical(dir_ / "lavap-link"), fs::canonical(home() + "/upgrades/5.2.1/lavap"));
  write_file(dir_ / "params.json", params("5.0.0", "5.3.0"));
  ASSERT_TRUE(
      wait_until([&] { return visor.output().find("succeeded") != std::string::npos; }, 20s))
      << visor.output();
  ASSERT_TRUE(wait_until([&] { return read_lines(dir_ / "hooks.log").size() == 2; }, 10s))
      << visor.output();
  EXPECT_EQ(read_lines(dir_ / "hooks.log"),
            (std::vector<std::string>{"pre 5.2.1 -> 5.3.0", "post 5.3.0"}));
  EXPECT_EQ(fs::canonical(dir_ / "lavap-link"), fs::canonical(home() + "/upgrades/5.3.0/lavap"));
  // With --ready-pattern the child's output still reaches visor's stdout, line for line.
  EXPECT_NE(visor.output().find("running-5.3.0\n"), std::string::npos);
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

TEST_F(Upgrade, AFailingPreUpgradeHookAbortsTheUpgrade) {
  publish("5.3.0");
  start_release_server();
  write_file(dir_ / "pre.sh", "#!/bin/sh\nexit 3\n", 0755);
  Process visor(wrap_args({"--pre-upgrade", dir_ / "pre.sh"}), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running_version("5.2.1"); }, 15s)) << visor.output();
  write_file(dir_ / "params.json", params("5.0.0", "5.3.0"));
  ASSERT_TRUE(wait_until(
      [&] { return visor.output().find("pre-upgrade hook failed") != std::string::npos; }, 20s))
      << visor.output();
  EXPECT_EQ(pids().size(), 1u);
  EXPECT_EQ(current_target(), "upgrades/5.2.1");
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

TEST_F(Upgrade, ANewVersionThatNeverPrintsTheReadyPatternIsRolledBack) {
  publish("5.3.0");
  start_release_server();
  // Only 5.2.1's marker matches: 5.3.0 runs but never says it is ready.
  Process visor(wrap_args({"--ready-pattern", "running-5\\.2\\.1"}), dir_ / "visor.log",
                environment());
  ASSERT_TRUE(wait_until([&] { return running_version("5.2.1"); }, 15s)) << visor.output();
  write_file(dir_ / "params.json", params("5.0.0", "5.3.0"));
  ASSERT_TRUE(wait_until(
      [&] {
        return visor.output().find("rolled back from 5.3.0 to 5.2.1: never printed") !=
               std::string::npos;
      },
      20s))
      << visor.output();
  ASSERT_TRUE(wait_until([&] { return running_version("5.2.1") && pids().size() == 3; }, 15s))
      << visor.output();
  EXPECT_EQ(current_target(), "upgrades/5.2.1");
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

}  // namespace
}  // namespace visor::e2e

namespace visor::e2e {
namespace {

// The HTTP status and body of a GET on 127.0.0.1, by curl; status 0 when nothing answered.
std::pair<int, std::string> curl_get(int port, const std::string& path) {
  const std::string command =
      "curl -s --max-time 3 -w '\\n%{http_code}' 'http://127.0.0.1:" + std::to_string(port) + path +
      "'";
  const std::string text = run_command(command, false).output;
  const auto newline = text.rfind('\n');
  if (newline == std::string::npos) return {0, text};
  return {std::atoi(text.c_str() + newline + 1), text.substr(0, newline)};
}

TEST_F(Upgrade, HealthAndMetricsFollowAnUpgrade) {
  publish("5.3.0");
  start_release_server();
  const int port = free_port();
  Process visor(
      wrap_args({"--healthy-after", "2s", "--health-listen", "127.0.0.1:" + std::to_string(port)}),
      dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return curl_get(port, "/readyz").first == 200; }, 15s))
      << visor.output();
  EXPECT_NE(curl_get(port, "/metrics").second.find("visor_version_info{current=\"5.2.1\""),
            std::string::npos);

  write_file(dir_ / "params.json", params("5.0.0", "5.3.0"));
  // While the new version is on probation the node runs (healthz 200) but is not ready.
  ASSERT_TRUE(wait_until([&] { return running_version("5.3.0"); }, 20s)) << visor.output();
  EXPECT_EQ(curl_get(port, "/healthz").first, 200);
  EXPECT_EQ(curl_get(port, "/readyz").first, 503);
  ASSERT_TRUE(wait_until([&] { return curl_get(port, "/readyz").first == 200; }, 10s))
      << visor.output();
  const std::string metrics = curl_get(port, "/metrics").second;
  EXPECT_NE(metrics.find("visor_upgrades_total{result=\"success\"} 1"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("visor_version_info{current=\"5.3.0\""), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("visor_child_up 1"), std::string::npos) << metrics;
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

}  // namespace
}  // namespace visor::e2e
