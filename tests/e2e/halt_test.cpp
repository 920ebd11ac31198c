// End-to-end: chain halts, as Cosmovisor's own process tests replay them. A fake Cosmos node
// (a shell script) logs each start, writes upgrade-info.json for its plan and then exits or stays
// alive, as a real node does when it reaches the upgrade height.
#include <signal.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <thread>

#include "e2e_util.h"

namespace visor::e2e {
namespace {

namespace fs = std::filesystem;

struct Halt {
  std::string plan;  ///< empty: this version never halts
  int height = 0;
  bool exits = true;  ///< false: the node halts and stays alive (CometBFT keeps serving)
  std::string info;   ///< the plan's `info`
};

class ChainHalt : public ::testing::Test {
 public:
  void SetUp() override {
    fs::create_directories(dir_ / "bin");
    fs::create_directories(dir_ / "chain/data");
    fs::create_directories(dir_ / "releases");
  }

  // A node binary `simd` of `version` at `path`: logs "VERSION" to runs.log at each start, then
  // halts as `halt` says (the plan is written 300 ms after the start).
  void write_node(const std::string& path, const std::string& version, const Halt& halt = {}) {
    std::string behaviour = "echo '" + version + "' >> '" + (dir_ / "runs.log") + "'\n";
    if (!halt.plan.empty()) {
      const std::string plan =
          nlohmann::json({{"name", halt.plan}, {"height", halt.height}, {"info", halt.info}})
              .dump();
      const std::string write = "printf '%s' '" + plan + "' > '" + info_file() + "'";
      behaviour +=
          halt.exits ? "sleep 0.3\n" + write + "\nexit 1\n" : "( sleep 0.3; " + write + " ) &\n";
    }
    fs::create_directories(fs::path(path).parent_path());
    write_stand_in(path, version, behaviour);
  }

  // `visor add-upgrade VERSION FILE [--plan PLAN]`, as an operator runs it.
  void add_upgrade(const std::string& version, const std::string& file,
                   const std::string& plan = "", bool stage_only = false) {
    std::vector<std::string> argv{visor_binary(), "add-upgrade", version, file, "--home", home()};
    if (!plan.empty()) argv.insert(argv.end(), {"--plan", plan});
    if (stage_only) argv.push_back("--stage-only");
    Process add(argv, dir_ / "add.log", environment());
    ASSERT_EQ(add.wait(15s), 0) << add.output();
  }

  std::vector<std::string> wrap(std::vector<std::string> extra = {}) const {
    std::vector<std::string> argv{
        visor_binary(),
        "wrap",
        "--home",
        home(),
        "--profile",
        "cosmos",
        "--upgrade-info",
        info_file(),
        "--healthy-after",
        "1s",
        "--backoff-initial",
        "200ms",
        "--max-restarts",
        "1",
        "--cmd",
        "simd start --argv-file " + (dir_ / "argv") + " --pid-file " + (dir_ / "pids")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  std::map<std::string, std::string> environment() const {
    const char* path = std::getenv("PATH");
    return {{"PATH", (dir_ / "bin") + ":" + (path ? path : "/usr/bin:/bin")}};
  }
  std::string info_file() const { return dir_ / "chain/data/upgrade-info.json"; }
  std::string home() const { return dir_ / "home"; }
  std::vector<std::string> runs() const { return read_lines(dir_ / "runs.log"); }
  int runs_of(const std::string& version) const {
    const auto lines = runs();
    return static_cast<int>(std::count(lines.begin(), lines.end(), version));
  }
  bool running(const std::string& version) const {
    return argv_file_says_running(dir_ / "argv", version);
  }
  nlohmann::json status() const {
    try {
      return nlohmann::json::parse(read_file(home() + "/status.json"));
    } catch (const std::exception&) {
      return nlohmann::json::object();
    }
  }
  bool status_says(const std::string& key, const std::string& value) const {
    const auto live = status();
    return live.contains(key) && live[key].is_string() && live[key] == value;
  }

  TempDir dir_;
  Server releases_;
};

// Failure 1: while the new binary downloads (slowly), the halted node is not restarted, the
// wait is no crash (--max-restarts 1 would give up otherwise) and status shows it.
TEST_F(ChainHalt, AHaltedNodeIsNotRestartedWhileItsBinaryDownloads) {
  // About 300 KiB at 100 KiB/s: a three-second download.
  fs::create_directories(dir_ / "releases/v2");
  write_stand_in(dir_ / "releases/v2/simd", "2.0.0",
                 "echo '2.0.0' >> '" + (dir_ / "runs.log") + "'", 300 * 1024);
  releases_ = start_server("release_server.py", {"--dir", dir_ / "releases", "--rate", "102400"},
                           dir_ / "releases.out");
  const std::string url =
      releases_.url() + "/v2/simd?checksum=sha256:" + sha256sum(dir_ / "releases/v2/simd");
  nlohmann::json binaries = {{"binaries", {{"linux/" + host_arch_name(), url}}}};
  write_node(dir_ / "bin/simd", "1.0.0", {"v2.0.0", 100, true, binaries.dump()});

  Process visor(wrap({"--allow-http"}), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return status_says("state", "held"); }, 15s)) << visor.output();
  EXPECT_TRUE(status_says("upgrade_stage", "staging")) << status().dump();
  ASSERT_TRUE(wait_until([&] { return running("2.0.0"); }, 20s)) << visor.output();
  EXPECT_EQ(runs_of("1.0.0"), 1) << "the halted binary ran once";
  EXPECT_EQ(status()["child_restarts_total"], 0) << status().dump();
  ASSERT_TRUE(
      wait_until([&] { return visor.output().find("succeeded") != std::string::npos; }, 10s))
      << visor.output();
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

// Failure 2: the pre-upgrade hook runs with the node stopped, in the home, and knows the
// versions, the plan and the height (environment and two last arguments).
TEST_F(ChainHalt, ThePreUpgradeHookRunsWithTheNodeStoppedAndItsContext) {
  write_node(dir_ / "bin/simd", "1.0.0", {"gov-upgrade-2", 120, false, ""});
  write_node(dir_ / "v2/simd", "2.0.0");
  add_upgrade("2.0.0", dir_ / "v2/simd", "gov-upgrade-2");
  const std::string hook_log = dir_ / "hook.log";
  write_file(dir_ / "pre.sh",
             "#!/bin/sh\n"
             "alive=no; kill -0 \"$(tail -n 1 '" +
                 (dir_ / "pids") + "')\" 2>/dev/null && alive=yes\n" +
                 "echo \"$VISOR_UPGRADE_FROM|$VISOR_UPGRADE_VERSION|$VISOR_UPGRADE_HEIGHT|"
                 "$VISOR_UPGRADE_PLAN|$#|$1|$2|$(pwd)|node-alive=$alive\" >> '" +
                 hook_log + "'\n",
             0755);
  Process visor(wrap({"--pre-upgrade", dir_ / "pre.sh extra"}), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("2.0.0"); }, 20s)) << visor.output();
  const std::string home_path = fs::canonical(home()).string();
  EXPECT_EQ(read_lines(hook_log),
            std::vector<std::string>{"1.0.0|2.0.0|120|gov-upgrade-2|3|extra|gov-upgrade-2|" +
                                     home_path + "|node-alive=no"});
  EXPECT_EQ(runs_of("1.0.0"), 1);
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

// Failure 3, node alive: the binary is staged by hand after the halt; the running visor picks it
// up within a second, without a new decision of the source.
TEST_F(ChainHalt, ABinaryStagedAfterTheHaltIsPickedUpWhileTheNodeStaysAlive) {
  write_node(dir_ / "bin/simd", "1.0.0", {"gov-upgrade-2", 99, false, ""});
  Process visor(wrap(), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return status_says("upgrade_stage", "halted_waiting"); }, 15s))
      << visor.output();
  EXPECT_TRUE(running("1.0.0")) << "a failed wait never stops a running node";
  write_node(dir_ / "v2/simd", "2.0.0");
  add_upgrade("2.0.0", dir_ / "v2/simd", "gov-upgrade-2");
  const auto staged_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until([&] { return running("2.0.0"); }, 10s)) << visor.output();
  // Within a second plus the stop and start of a shell script on a loaded machine.
  EXPECT_LT(std::chrono::steady_clock::now() - staged_at, 3s);
  EXPECT_EQ(runs_of("1.0.0"), 1);
  EXPECT_EQ(fs::read_symlink(home() + "/current").string(), "upgrades/2.0.0");
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

// Failure 3, node exited: the same, and the waiting never counts as crashes.
TEST_F(ChainHalt, ABinaryStagedAfterTheHaltIsPickedUpAfterTheNodeExited) {
  write_node(dir_ / "bin/simd", "1.0.0", {"gov-upgrade-2", 99, true, ""});
  Process visor(wrap(), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return status_says("upgrade_stage", "halted_waiting"); }, 15s))
      << visor.output();
  EXPECT_TRUE(wait_until([&] { return status_says("state", "held"); }, 5s)) << status().dump();
  std::this_thread::sleep_for(1500ms);  // longer than the backoff: nothing restarts meanwhile
  EXPECT_EQ(runs_of("1.0.0"), 1);
  EXPECT_TRUE(visor.running()) << "waiting for the binary is no crash: " << visor.output();
  write_node(dir_ / "v2/simd", "2.0.0");
  add_upgrade("2.0.0", dir_ / "v2/simd", "gov-upgrade-2");
  ASSERT_TRUE(wait_until([&] { return running("2.0.0"); }, 10s)) << visor.output();
  EXPECT_EQ(runs_of("1.0.0"), 1);
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

// Failure 4 and the three-hop chain: 2.0.0 halts for the next plan 0.3 s into its 5 s probation;
// it has passed (the chain went past its height with it), is committed, and 3.0.0 follows.
// Each halted binary runs exactly once; nothing is rolled back or marked failed.
TEST_F(ChainHalt, AThreeHopChainWhereTheSecondVersionHaltsDuringItsProbation) {
  write_node(dir_ / "bin/simd", "1.0.0", {"v2.0.0", 100, true, ""});
  write_node(dir_ / "v2/simd", "2.0.0", {"v3.0.0", 200, true, ""});
  write_node(dir_ / "v3/simd", "3.0.0");
  // Staged before the chain halts (the first start imports 1.0.0 from PATH).
  add_upgrade("2.0.0", dir_ / "v2/simd", "", true);
  add_upgrade("3.0.0", dir_ / "v3/simd", "", true);
  Process visor(wrap({"--healthy-after", "5s"}), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("3.0.0"); }, 30s)) << visor.output();
  EXPECT_EQ(runs(), (std::vector<std::string>{"1.0.0", "2.0.0", "3.0.0"})) << visor.output();
  const auto state = nlohmann::json::parse(read_file(home() + "/state.json"));
  EXPECT_TRUE(state["failed"].empty()) << state.dump();
  EXPECT_EQ(visor.output().find("rolled back"), std::string::npos) << visor.output();
  ASSERT_TRUE(wait_until(
      [&] {
        return visor.output().find("upgrade from 2.0.0 to 3.0.0 succeeded") != std::string::npos;
      },
      15s))
      << visor.output();
  EXPECT_NE(visor.output().find("upgrade from 1.0.0 to 2.0.0 succeeded"), std::string::npos);
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

// kill -9 of visor while the chain is halted and the new binary is missing: the next visor on
// the same home must not start the halted version again (the chain is past its height); it
// waits for the binary as the first one did.
TEST_F(ChainHalt, AVisorKilledWhileHaltedWaitingNeverStartsTheHaltedVersionAgain) {
  write_node(dir_ / "bin/simd", "1.0.0", {"gov-upgrade-2", 99, true, ""});
  {
    Process visor(wrap(), dir_ / "visor-first.log", environment());
    ASSERT_TRUE(wait_until([&] { return status_says("upgrade_stage", "halted_waiting"); }, 15s))
        << visor.output();
    ASSERT_TRUE(wait_until([&] { return status_says("state", "held"); }, 5s)) << status().dump();
    visor.signal(SIGKILL);
    visor.wait(10s);
  }
  Process visor(wrap(), dir_ / "visor-second.log", environment());
  ASSERT_TRUE(wait_until(
      [&] { return visor.output().find("gov-upgrade-2 names no version") != std::string::npos; },
      15s))
      << visor.output();
  write_node(dir_ / "v2/simd", "2.0.0");
  add_upgrade("2.0.0", dir_ / "v2/simd", "gov-upgrade-2");
  ASSERT_TRUE(wait_until([&] { return running("2.0.0"); }, 10s)) << visor.output();
  EXPECT_EQ(runs(), (std::vector<std::string>{"1.0.0", "2.0.0"})) << visor.output();
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

// kill -9 of visor while the pre-upgrade hook runs for a halt: the next visor runs the hook
// again and switches; the halted version is not started in between.
TEST_F(ChainHalt, AVisorKilledDuringThePreUpgradeHookRunsItAgainAndNeverTheHaltedVersion) {
  write_node(dir_ / "bin/simd", "1.0.0", {"gov-upgrade-2", 99, true, ""});
  write_node(dir_ / "v2/simd", "2.0.0");
  add_upgrade("2.0.0", dir_ / "v2/simd", "gov-upgrade-2", true);
  // The hook logs each run and blocks while the `block` file exists.
  write_file(dir_ / "block", "");
  write_file(dir_ / "pre.sh",
             "#!/bin/sh\necho run >> '" + (dir_ / "hook.log") + "'\nwhile [ -e '" +
                 (dir_ / "block") + "' ]; do sleep 0.05; done\n",
             0755);
  const std::vector<std::string> hook{"--pre-upgrade", dir_ / "pre.sh"};
  {
    Process visor(wrap(hook), dir_ / "visor-first.log", environment());
    ASSERT_TRUE(wait_until([&] { return read_lines(dir_ / "hook.log").size() == 1; }, 15s))
        << visor.output();
    visor.signal(SIGKILL);
    visor.wait(10s);
  }
  fs::remove(dir_ / "block");  // the orphaned hook ends; the next one passes at once
  Process visor(wrap(hook), dir_ / "visor-second.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("2.0.0"); }, 15s)) << visor.output();
  EXPECT_EQ(runs(), (std::vector<std::string>{"1.0.0", "2.0.0"})) << visor.output();
  EXPECT_EQ(read_lines(dir_ / "hook.log").size(), 2u);
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

// The version a plan brought crashes on probation and is rolled back; the chain stays halted.
// The operator stages a fixed build for that plan by hand (`add-upgrade 2.0.1 FILE --plan
// PLAN`): it is picked up within the halted wait, and the halted version never runs again.
void expect_fixed_build_picked_up_after_rollback(ChainHalt& test, const std::string& plan) {
  test.write_node(test.dir_ / "bin/simd", "1.0.0", {plan, 100, true, ""});
  fs::create_directories(test.dir_ / "v2");
  write_stand_in(test.dir_ / "v2/simd", "2.0.0",
                 "echo '2.0.0' >> '" + (test.dir_ / "runs.log") + "'\nexit 3\n");
  test.write_node(test.dir_ / "v201/simd", "2.0.1");
  // A plan named like a version needs no mapping for 2.0.0; any other plan does.
  test.add_upgrade("2.0.0", test.dir_ / "v2/simd", plan == "v2.0.0" ? "" : plan, true);
  Process visor(test.wrap(), test.dir_ / "visor.log", test.environment());
  ASSERT_TRUE(wait_until(
      [&] { return visor.output().find("rolled back from 2.0.0") != std::string::npos; }, 20s))
      << visor.output();
  ASSERT_TRUE(wait_until([&] { return test.status_says("state", "held"); }, 5s))
      << test.status().dump();
  test.add_upgrade("2.0.1", test.dir_ / "v201/simd", plan);
  ASSERT_TRUE(wait_until([&] { return test.running("2.0.1"); }, 10s))
      << visor.output() << read_file(test.home() + "/state.json");
  EXPECT_EQ(test.runs(), (std::vector<std::string>{"1.0.0", "2.0.0", "2.0.1"})) << visor.output();
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

TEST_F(ChainHalt, AFixedBuildStagedForANamedPlanAfterARollbackIsPickedUp) {
  expect_fixed_build_picked_up_after_rollback(*this, "gov-upgrade-2");
}

TEST_F(ChainHalt, AFixedBuildStagedForAVersionNamedPlanAfterARollbackIsPickedUp) {
  expect_fixed_build_picked_up_after_rollback(*this, "v2.0.0");
}

}  // namespace
}  // namespace visor::e2e
