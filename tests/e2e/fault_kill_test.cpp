// Fault injection, end to end: `kill -9` of the real build/visor at random moments while it
// downloads and while it switches versions. After every kill the home must be intact:
// `current` resolves to a complete binary that reports its version, every folder under
// upgrades/ holds exactly one complete, executable binary, and state.json is whole JSON.
// Every few trials a new visor on the same home must finish the upgrade.
//
// The upgrade comes from a Cosmos upgrade-info.json whose plan carries the artifact URL with
// ?checksum=sha256:<hex> (no chain server needed); the release server is throttled so the
// download lasts about half a second.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "e2e_util.h"

namespace visor::e2e {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kArtifactPadding = 256 * 1024;  // the new version's size, about 256 KiB
constexpr int kReleaseRate = 512 * 1024;              // bytes per second: ~0.5 s per download

// Kills every process whose command line mentions `marker` (children that outlived visor's
// kill -9, and version probes it had started).
void kill_processes_mentioning(const std::string& marker) {
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return;
  while (dirent* entry = readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
    if (pid <= 0 || pid == getpid()) continue;
    std::string cmdline = read_file(std::string("/proc/") + entry->d_name + "/cmdline");
    for (char& c : cmdline) {
      if (c == '\0') c = ' ';
    }
    if (cmdline.find(marker) != std::string::npos) ::kill(pid, SIGKILL);
  }
  closedir(proc);
}

// The first line `path version` prints.
std::string run_version(const std::string& path) {
  const std::string output = run_command("'" + path + "' version").output;
  std::string text = output.substr(0, output.find('\n'));
  if (!text.empty() && text.back() == '\r') text.pop_back();
  return text;
}

// The checks of the contract "after kill -9 at any moment, current points at a complete,
// runnable binary, and no half-written file is ever executed". `shas` maps each version that
// may be present to the SHA-256 of its binary.
void expect_home_intact(const std::string& home, const std::map<std::string, std::string>& shas,
                        const std::string& context) {
  SCOPED_TRACE(context);
  std::error_code error;
  const fs::path current = fs::path(home) / "current";
  if (fs::is_symlink(fs::symlink_status(current, error))) {
    const std::string target = fs::read_symlink(current, error).string();
    ASSERT_EQ(target.rfind("upgrades/", 0), 0u) << "current -> " << target;
    const std::string version = target.substr(std::string("upgrades/").size());
    ASSERT_EQ(shas.count(version), 1u) << "current -> " << target;
    const std::string binary = home + "/current/lavap";
    struct stat info {};
    ASSERT_EQ(::stat(binary.c_str(), &info), 0) << binary << " does not exist";
    EXPECT_TRUE(S_ISREG(info.st_mode) && (info.st_mode & S_IXUSR)) << binary;
    EXPECT_EQ(sha256sum(binary), shas.at(version)) << binary << " is not the complete binary";
    EXPECT_EQ(run_version(binary), version) << binary;
  } else {
    EXPECT_FALSE(fs::exists(current, error)) << "current exists but is not a symlink";
  }
  if (fs::exists(home + "/upgrades", error)) {
    for (const auto& folder : fs::directory_iterator(home + "/upgrades")) {
      const std::string version = folder.path().filename().string();
      EXPECT_EQ(shas.count(version), 1u) << "unexpected " << folder.path();
      std::vector<std::string> names;
      for (const auto& file : fs::directory_iterator(folder.path()))
        names.push_back(file.path().filename().string());
      EXPECT_EQ(names, std::vector<std::string>{"lavap"})
          << folder.path() << " holds more or less than the binary";
      const std::string binary = folder.path().string() + "/lavap";
      if (shas.count(version) && fs::exists(binary, error)) {
        EXPECT_EQ(sha256sum(binary), shas.at(version)) << binary << " is half written";
        EXPECT_EQ(::access(binary.c_str(), X_OK), 0) << binary << " is not executable";
      }
    }
  }
  const std::string state = home + "/state.json";
  if (fs::exists(state, error)) {
    const std::string text = read_file(state);
    EXPECT_TRUE(nlohmann::json::accept(text)) << "state.json is not whole JSON:\n" << text;
  }
}

// How far visor had come when it was killed, from its own log (for the summary line only).
std::string phase_reached(const std::string& log) {
  if (log.find("running-5.3.0") != std::string::npos) return "new version running";
  if (log.find("current now points at 5.3.0") != std::string::npos)
    return "switched, new child starting";
  if (log.find("switching from") != std::string::npos) return "stopping the old child";
  if (log.find("staged lavap 5.3.0") != std::string::npos) return "staged, before the switch";
  if (log.find("fetching lavap 5.3.0") != std::string::npos) return "downloading or verifying";
  if (log.find("running-5.2.1") != std::string::npos)
    return "old version running, plan not yet read";
  return "starting up";
}

// Prints how many trials ended in each phase: evidence that the kills spread over the window.
void print_phases(const std::map<std::string, int>& phases) {
  std::string line = "kill -9 landed in:";
  for (const auto& [phase, count] : phases) line += " [" + phase + "] x" + std::to_string(count);
  std::printf("%s\n", line.c_str());
}

class FaultKill : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "bin");
    fs::create_directories(dir_ / "releases");
    write_stand_in(dir_ / "bin/lavap", "5.2.1");
    artifact_ = dir_ / "releases/lavap-v5.3.0";
    write_stand_in(artifact_, "5.3.0", "", kArtifactPadding);
    shas_ = {{"5.2.1", sha256sum(dir_ / "bin/lavap")}, {"5.3.0", sha256sum(artifact_)}};
    // The same 5.3.0 under the managed name, for `visor add-upgrade` (which keeps the file name).
    fs::create_directories(dir_ / "staging");
    fs::copy_file(artifact_, dir_ / "staging/lavap");
    fs::permissions(dir_ / "staging/lavap", fs::perms(0755));
  }

  void TearDown() override { kill_processes_mentioning(dir_.path()); }

  void start_release_server() {
    write_file(dir_ / "releases/sha256sum.txt", shas_["5.3.0"] + "  lavap-v5.3.0\n");
    releases_ = start_server("release_server.py",
                             {"--dir", dir_ / "releases", "--log", dir_ / "requests.log", "--rate",
                              std::to_string(kReleaseRate)},
                             dir_ / "releases.log");
  }

  // The plan the chain writes when it halts for v5.3.0; its binary URL carries the checksum.
  void write_upgrade_info() {
    const std::string url = releases_.url() + "/lavap-v5.3.0?checksum=sha256:" + shas_["5.3.0"];
    const nlohmann::json info = {{"binaries", {{"linux/" + host_arch_name(), url}}}};
    const nlohmann::json plan = {{"name", "v5.3.0"}, {"height", 100}, {"info", info.dump()}};
    replace_file(dir_ / "upgrade-info.json", plan.dump());
  }

  // visor on `home`; the plan's URL is used first, the templates when visor resumes an
  // upgrade after a restart (both name the same file, so the .part is resumed).
  std::vector<std::string> wrap(const std::string& home, const std::string& tag,
                                bool with_templates = true) {
    std::vector<std::string> argv{visor_binary(),
                                  "wrap",
                                  "--home",
                                  home,
                                  "--source",
                                  "cosmos",
                                  "--upgrade-info",
                                  dir_ / "upgrade-info.json",
                                  "--allow-http",
                                  "--healthy-after",
                                  "300ms",
                                  "--stop-timeout",
                                  "5s",
                                  "--cmd",
                                  "lavap --pid-file " + (dir_ / ("pids-" + tag)) + " --argv-file " +
                                      (dir_ / ("argv-" + tag))};
    if (with_templates) {
      argv.insert(argv.end(), {"--download-url", releases_.url() + "/lavap-v{version}",
                               "--checksum-url", releases_.url() + "/sha256sum.txt"});
    }
    return argv;
  }

  std::map<std::string, std::string> environment() const {
    const char* path = std::getenv("PATH");
    return {{"PATH", (dir_ / "bin") + ":" + (path ? path : "/usr/bin:/bin")}};
  }

  int artifact_requests() const {
    return count_occurrences(read_file(dir_ / "requests.log"), "/lavap-v5.3.0");
  }

  // A new visor on `home` must finish the upgrade: 5.3.0 runs and current points at it.
  void expect_upgrade_completes(const std::string& home, const std::string& tag,
                                bool with_templates = true,
                                std::chrono::milliseconds within = 20s) {
    const std::string log = dir_ / ("visor-resume-" + tag + ".log");
    Process visor(wrap(home, "resume-" + tag, with_templates), log, environment());
    EXPECT_TRUE(wait_until(
        [&] { return argv_says_running(dir_ / ("argv-resume-" + tag), "5.3.0"); }, within))
        << visor.output();
    EXPECT_TRUE(wait_until(
        [&] { return fs::read_symlink(home + "/current").string() == "upgrades/5.3.0"; }, 5s));
    visor.signal(SIGTERM);
    EXPECT_TRUE(visor.wait(10s).has_value());
    expect_home_intact(home, shas_, "after the resumed upgrade " + tag);
  }

  static bool argv_says_running(const std::string& argv_file, const std::string& version) {
    const auto lines = read_lines(argv_file);
    return !lines.empty() && lines.back() == "running-" + version;
  }

  TempDir dir_;
  Server releases_;
  std::string artifact_;
  std::map<std::string, std::string> shas_;
  std::mt19937 random_{std::random_device{}()};
};

// 25 trials: each a fresh home; visor imports 5.2.1, reads the plan and downloads 5.3.0 at
// 512 KiB/s; it is killed at a random moment from just before the download starts to after
// it ends (which also hits verifying, unpacking, the switch and probation).
TEST_F(FaultKill, KillNineDuringDownloadNeverBreaksTheHome) {
  start_release_server();
  write_upgrade_info();
  std::map<std::string, int> phases;
  for (int trial = 0; trial < 25; ++trial) {
    const std::string tag = std::to_string(trial);
    const std::string home = dir_ / ("home-" + tag);
    const int requests_before = artifact_requests();
    const int delay_ms = std::uniform_int_distribution<int>(0, 700)(random_);
    {
      Process visor(wrap(home, tag), dir_ / ("visor-" + tag + ".log"), environment());
      // Wait for the download to begin (or visor to end), then let it run for delay_ms.
      wait_until([&] { return artifact_requests() > requests_before || !visor.running(); }, 10s);
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      visor.signal(SIGKILL);
      visor.wait(10s);
      ++phases[phase_reached(visor.output())];
    }
    kill_processes_mentioning(dir_ / ("pids-" + tag));
    expect_home_intact(
        home, shas_,
        "trial " + tag + ", killed " + std::to_string(delay_ms) + "ms into the download");
    if (HasFatalFailure()) return;
    if (trial % 5 == 4) expect_upgrade_completes(home, tag);
  }
  print_phases(phases);
}

// 25 trials: 5.2.1 runs with 5.3.0 pre-staged (`visor add-upgrade`); the plan appears and visor
// is killed 0-60 ms later: while it reads the plan, stops the old child, switches `current`,
// starts the new child or writes state.json.
TEST_F(FaultKill, KillNineDuringSwitchNeverBreaksTheHome) {
  start_release_server();  // only named by the plan's URL; the binary is pre-staged
  std::map<std::string, int> phases;
  for (int trial = 0; trial < 25; ++trial) {
    const std::string tag = std::to_string(trial);
    const std::string home = dir_ / ("home-" + tag);
    std::remove((dir_ / "upgrade-info.json").c_str());
    Process init({visor_binary(), "init", "--home", home, "--import", dir_ / "bin/lavap"},
                 dir_ / ("init-" + tag + ".log"));
    ASSERT_EQ(init.wait(10s), 0) << init.output();
    Process stage({visor_binary(), "add-upgrade", "5.3.0", dir_ / "staging/lavap", "--home", home},
                  dir_ / ("stage-" + tag + ".log"));
    ASSERT_EQ(stage.wait(10s), 0) << stage.output();

    const int delay_ms = std::uniform_int_distribution<int>(0, 60)(random_);
    {
      Process visor(wrap(home, tag), dir_ / ("visor-" + tag + ".log"), environment());
      ASSERT_TRUE(
          wait_until([&] { return argv_says_running(dir_ / ("argv-" + tag), "5.2.1"); }, 10s))
          << visor.output();
      write_upgrade_info();
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      visor.signal(SIGKILL);
      visor.wait(10s);
      ++phases[phase_reached(visor.output())];
    }
    kill_processes_mentioning(dir_ / ("pids-" + tag));
    expect_home_intact(
        home, shas_, "trial " + tag + ", killed " + std::to_string(delay_ms) + "ms after the plan");
    if (HasFatalFailure()) return;
    if (trial % 5 == 4) expect_upgrade_completes(home, tag);
  }
  print_phases(phases);
}

// A visor killed while downloading a Cosmos plan's binary (URL from the plan's `binaries`, no
// --download-url) resumes on its next start with the URL kept in state.json: no "downloads are
// off" error and no retry delay.
TEST_F(FaultKill, AResumedPlanDownloadNeedsNoTemplateAndNoRetryDelay) {
  start_release_server();
  write_upgrade_info();
  const std::string home = dir_ / "home";
  {
    Process visor(wrap(home, "first", false), dir_ / "visor-first.log", environment());
    ASSERT_TRUE(wait_until([&] { return artifact_requests() > 0; }, 10s)) << visor.output();
    std::this_thread::sleep_for(100ms);
    visor.signal(SIGKILL);
    visor.wait(10s);
  }
  kill_processes_mentioning(dir_ / "pids-first");
  expect_upgrade_completes(home, "second", false, 5s);
  EXPECT_EQ(count_occurrences(read_file(dir_ / "visor-resume-second.log"), "downloads are off"), 0);
}

}  // namespace
}  // namespace visor::e2e
