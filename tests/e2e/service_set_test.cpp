// End-to-end: service sets (several named children under one visor) with the real build/visor
// and real child processes: the configuration (--child, "children", --group), start and stop
// order, the restart policies of a set, signals, exit status, and what /healthz, /metrics,
// `visor status` and `create-service` show for a set. Upgrades of a set are in
// service_set_upgrade_test.cpp.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <sstream>
#include <thread>

#include "../ops/prometheus_text_validator.h"
#include "e2e_util.h"
#include "service_set_fixture.h"

namespace visor::e2e {
namespace {

class ServiceSetConfig : public ::testing::Test {
 protected:
  std::vector<std::string> wrap(std::vector<std::string> extra) {
    std::vector<std::string> argv{visor_binary(), "wrap", "--home", dir_ / "home"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  std::string child() const { return test_child_binary(); }
  std::string log() const { return dir_ / "visor.log"; }

  TempDir dir_;
};

TEST_F(ServiceSetConfig, ASetOfOneGivenAsChildRunsLikeCmd) {
  const std::string argv_file = dir_ / "argv";
  Process visor(wrap({"--child", "node=" + child() + " --argv-file " + argv_file + " --exit 7",
                      "--restart", "never"}),
                log());
  EXPECT_EQ(visor.wait(10s), 7) << visor.output();
  EXPECT_EQ(read_lines(argv_file),
            (std::vector<std::string>{"--argv-file", argv_file, "--exit", "7"}));
}

TEST_F(ServiceSetConfig, EveryErrorOfTheSetIsReportedAtOnceAndNothingStarts) {
  const std::string argv_file = dir_ / "argv";
  const std::string good = child() + " --argv-file " + argv_file;
  Process visor(
      wrap({"--child", "Core=" + good, "--child", "node=" + good, "--child", "node=" + good,
            "--child", "noequals", "--group", "sometimes", "--cmd", good}),
      log());
  EXPECT_EQ(visor.wait(10s), 2);
  const std::string output = visor.output();
  for (const char* part :
       {"invalid child name 'Core'", "child name 'node' is used twice", "expected NAME=COMMAND",
        "expected independent|together, got 'sometimes'",
        "--cmd cannot be combined with --child"}) {
    EXPECT_NE(output.find(part), std::string::npos) << part << "\n" << output;
  }
  EXPECT_FALSE(std::filesystem::exists(argv_file));
}

// A child whose command is empty, cannot be split or names no binary, beside a good one: a
// configuration error (exit 2) for `wrap` and for `check`, all reported at once, never a crash.
TEST_F(ServiceSetConfig, AChildWithoutACommandBesideAGoodOneIsAConfigurationError) {
  const std::string argv_file = dir_ / "argv";
  const std::vector<std::string> children{
      "--child", "good=" + child() + " --argv-file " + argv_file,
      "--child", "empty=",
      "--child", "blank=   ",
      "--child", "open=" + child() + " 'unterminated",
      "--child", "dir=/usr/bin/"};
  Process visor(wrap(children), log());
  EXPECT_EQ(visor.wait(10s), 2) << visor.output();
  std::vector<std::string> check{visor_binary(), "check", "--home", dir_ / "home"};
  check.insert(check.end(), children.begin(), children.end());
  Process checked(check, dir_ / "check.log");
  EXPECT_EQ(checked.wait(10s), 2) << checked.output();
  for (const std::string& output : {visor.output(), checked.output()}) {
    for (const char* part :
         {"'empty': the command line is empty", "'blank': the command line is empty",
          "'open': command: ", "'dir': the first word '/usr/bin/' names no binary"}) {
      EXPECT_NE(output.find(part), std::string::npos) << part << "\n" << output;
    }
  }
  EXPECT_FALSE(std::filesystem::exists(argv_file));
}

// The store keeps one binary per name: two children naming different files of the same name
// would both run the first (the second never probed). Refused before anything starts; the same
// file given twice, by name and by path, is one binary.
TEST_F(ServiceSetConfig, TwoDifferentFilesOfOneBinaryNameAreRefused) {
  std::filesystem::create_directories(dir_ / "v1");
  std::filesystem::create_directories(dir_ / "v2");
  const std::string v1 = dir_ / "v1/lavap";
  const std::string v2 = dir_ / "v2/lavap";
  const std::string v1_again = dir_ / "v1/../v1/lavap";
  write_stand_in(v1, "5.2.1");
  write_stand_in(v2, "5.3.0");
  Process visor(
      wrap({"--child", "eth=" + v1 + " rpcprovider", "--child", "osmo=" + v2 + " rpcprovider"}),
      log());
  EXPECT_EQ(visor.wait(10s), 2) << visor.output();
  EXPECT_NE(visor.output().find("child osmo: " + v2 + " is another file than " + v1),
            std::string::npos)
      << visor.output();
  EXPECT_FALSE(std::filesystem::exists(dir_ / "home/current"));

  std::vector<std::string> same{visor_binary(), "check",           "--home",
                                dir_ / "home",  "--child",         "eth=" + v1 + " rpcprovider",
                                "--child",      "osmo=" + v1_again};
  Process checked(same, dir_ / "check.log");
  EXPECT_EQ(checked.wait(10s), 0) << checked.output();
}

TEST_F(ServiceSetConfig, ChildrenFromTheConfigFileAreChecked) {
  write_file(dir_ / "config.json",
             R"({"children": [{"name": "a", "cmd": "x", "colour": "red"}, {"cmd": "y"}]})");
  Process visor(wrap({"--config", dir_ / "config.json"}), log());
  EXPECT_EQ(visor.wait(10s), 2);
  const std::string output = visor.output();
  EXPECT_NE(output.find("children[0]: unknown key 'colour'"), std::string::npos) << output;
  EXPECT_NE(output.find("children[1]: \"name\" is missing"), std::string::npos) << output;
}

TEST_F(ServiceSetConfig, ABareDownloadTemplateWithoutNameIsAnErrorForTwoBinaryNames) {
  std::filesystem::create_directories(dir_ / "bin");
  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  write_stand_in(dir_ / "bin/lavad", "5.2.1");
  const std::string argv_file = dir_ / "argv";
  Process visor(wrap({"--source", "lava", "--lava-rest", "http://127.0.0.1:9", "--download-url",
                      "https://example.com/v{version}/lavap-{os}-{arch}", "--checksum-url",
                      "https://example.com/v{version}/sha256sum.txt", "--child",
                      "provider=lavap rpcprovider --argv-file " + argv_file, "--child",
                      "daemon=lavad start --argv-file " + argv_file}),
                log(), {{"PATH", (dir_ / "bin") + ":" + std::string(std::getenv("PATH"))}});
  EXPECT_EQ(visor.wait(10s), 2) << visor.output();
  EXPECT_NE(visor.output().find("{name}"), std::string::npos) << visor.output();
  EXPECT_FALSE(std::filesystem::exists(argv_file));
}

TEST_F(ServiceSetConfig, ASetOfSeveralRunsEveryChildAndExitsWithTheFirstsStatus) {
  const std::string first = dir_ / "first";
  const std::string second = dir_ / "second";
  Process visor(wrap({"--child", "a=" + child() + " --argv-file " + first + " --exit 5 --after 300",
                      "--child", "b=" + child() + " --argv-file " + second + " --exit 0",
                      "--restart", "never"}),
                log());
  EXPECT_EQ(visor.wait(15s), 5) << visor.output();
  EXPECT_TRUE(std::filesystem::exists(first)) << visor.output();
  EXPECT_TRUE(std::filesystem::exists(second)) << visor.output();
}

// A set running two binaries of one release (alpha and beta): add-upgrade stages them one at
// a time with --binary, the version counts only once both are in, and then the running visor
// (--source none) switches both children at once; a folder holding both does it in one step.
TEST_F(ServiceSetConfig, AReleaseOfTwoBinariesIsStagedByHandAndSwitchedAsOne) {
  std::filesystem::create_directories(dir_ / "bin");
  for (const char* version : {"2.0.0", "3.0.0"}) {
    std::filesystem::create_directories(dir_ / version);
  }
  for (const std::string name : {"alpha", "beta"}) {
    for (const std::string version : {"1.0.0", "2.0.0", "3.0.0"}) {
      const std::string folder = version == "1.0.0" ? dir_ / "bin" : dir_ / version;
      write_stand_in(folder + "/" + name, version,
                     "echo " + version + " >> '" + (dir_ / (name + ".runs")) + "'");
    }
  }
  const std::string home = dir_ / "home";
  Process visor(wrap({"--source", "none", "--healthy-after", "500ms", "--child",
                      "a=" + (dir_ / "bin/alpha"), "--child", "b=" + (dir_ / "bin/beta")}),
                log());
  const auto runs = [&](const std::string& name) { return read_lines(dir_ / (name + ".runs")); };
  ASSERT_TRUE(
      wait_until([&] { return runs("alpha").size() == 1 && runs("beta").size() == 1; }, 10s))
      << visor.output();

  const auto add = [&](const std::string& arguments) {
    return run_command("'" + visor_binary() + "' add-upgrade --home '" + home + "' " + arguments);
  };
  const auto first = add("2.0.0 '" + (dir_ / "2.0.0/alpha") + "' --binary alpha");
  ASSERT_EQ(first.status, 0) << first.output;
  EXPECT_NE(first.output.find("beta"), std::string::npos) << first.output;  // what is missing
  EXPECT_FALSE(std::filesystem::exists(home + "/upgrades/2.0.0"));
  const auto wrong = add("2.0.0 '" + (dir_ / "2.0.0/beta") + "'");  // which binary is it?
  EXPECT_EQ(wrong.status, 2) << wrong.output;
  const auto second = add("2.0.0 '" + (dir_ / "2.0.0/beta") + "' --binary beta");
  ASSERT_EQ(second.status, 0) << second.output;
  ASSERT_TRUE(wait_until(
      [&] {
        return runs("alpha") == std::vector<std::string>{"1.0.0", "2.0.0"} &&
               runs("beta") == std::vector<std::string>{"1.0.0", "2.0.0"};
      },
      15s))
      << visor.output();
  EXPECT_EQ(std::filesystem::read_symlink(home + "/current").string(), "upgrades/2.0.0");

  const auto folder = add("3.0.0 '" + (dir_ / "3.0.0") + "'");
  ASSERT_EQ(folder.status, 0) << folder.output;
  ASSERT_TRUE(
      wait_until([&] { return runs("alpha").size() == 3 && runs("beta").size() == 3; }, 15s))
      << visor.output();
  EXPECT_EQ(runs("alpha").back(), "3.0.0");
  EXPECT_EQ(runs("beta").back(), "3.0.0");

  const auto status = run_command("'" + visor_binary() + "' status --json --home '" + home + "'");
  EXPECT_NE(status.output.find("\"name\": \"a\""), std::string::npos) << status.output;
  EXPECT_NE(status.output.find("\"name\": \"b\""), std::string::npos) << status.output;
  visor.signal(SIGTERM);
  EXPECT_TRUE(visor.wait(20s).has_value());
}

// --group independent: a child that ended for good (a clean exit under on-failure) runs no
// version. An upgrade starts the others on the new one, and their probation passes without it:
// the post-upgrade hook runs and `status` no longer shows an upgrade in progress.
TEST_F(ServiceSetConfig, AnUpgradePassesWhileAChildHasEndedForGood) {
  for (const std::string version : {"1.0.0", "2.0.0"}) {
    std::filesystem::create_directories(dir_ / version);
    write_stand_in(dir_ / (version + "/alpha"), version,
                   "echo " + version + " >> '" + (dir_ / "alpha.runs") + "'");
    write_stand_in(dir_ / (version + "/beta"), version,
                   "echo " + version + " >> '" + (dir_ / "beta.runs") + "'; exit 0");
  }
  const std::string home = dir_ / "home";
  const std::string hook_file = dir_ / "post-upgrade";
  write_file(dir_ / "hook.sh", "#!/bin/sh\necho \"$VISOR_UPGRADE_VERSION\" > '" + hook_file + "'\n",
             0755);
  Process visor(
      wrap({"--source", "none", "--healthy-after", "500ms", "--post-upgrade", dir_ / "hook.sh",
            "--child", "a=" + (dir_ / "1.0.0/alpha"), "--child", "b=" + (dir_ / "1.0.0/beta")}),
      log());
  const auto runs = [&](const std::string& name) { return read_lines(dir_ / (name + ".runs")); };
  ASSERT_TRUE(
      wait_until([&] { return runs("alpha").size() == 1 && runs("beta").size() == 1; }, 10s))
      << visor.output();
  ASSERT_TRUE(
      wait_until([&] { return visor.output().find("child b ended") != std::string::npos; }, 10s))
      << visor.output();
  const auto added = run_command("'" + visor_binary() + "' add-upgrade --home '" + home +
                                 "' 2.0.0 '" + (dir_ / "2.0.0") + "'");
  ASSERT_EQ(added.status, 0) << added.output;
  ASSERT_TRUE(wait_until([&] { return runs("alpha").size() == 2; }, 15s)) << visor.output();
  EXPECT_EQ(runs("alpha").back(), "2.0.0");
  EXPECT_TRUE(
      wait_until([&] { return read_lines(hook_file) == std::vector<std::string>{"2.0.0"}; }, 15s))
      << visor.output();
  EXPECT_EQ(runs("beta"), std::vector<std::string>{"1.0.0"});  // ended for good: not started
  visor.signal(SIGTERM);
  EXPECT_TRUE(visor.wait(20s).has_value());
}

// A set of children that all run `node` (a stand-in reporting 1.0.0, on PATH), no source.
class ServiceSet : public ServiceSetFixture {
 protected:
  void SetUp() override {
    ServiceSetFixture::SetUp();
    write_stand_in(dir_ / "bin/node", "1.0.0");
  }
  /// `visor wrap --home H <extra>` with one `--child NAME=node run <follow NAME> <args>` per
  /// entry of `children`, in that order.
  std::vector<std::string> wrap_set(
      const std::vector<std::pair<std::string, std::string>>& children,
      std::vector<std::string> extra = {}) const {
    std::vector<std::string> argv{visor_binary(), "wrap", "--home", home()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    for (const auto& [name, arguments] : children) {
      argv.push_back("--child");
      argv.push_back(name + "=node run" + follow(name) + (arguments.empty() ? "" : " ") +
                     arguments);
    }
    return argv;
  }
  bool all_started_once(const std::vector<std::string>& names) const {
    for (const auto& name : names) {
      if (!started_and_alive(name, 1)) return false;
    }
    return true;
  }
};

TEST_F(ServiceSet, ChildrenStartInListOrderAndStopInReverseOneAtATime) {
  // Each child takes 300 ms to stop and exits with its own code on TERM.
  Process visor(wrap_set({{"alpha", "--term-delay 300 --exit-on-term 3"},
                          {"bravo", "--term-delay 300 --exit-on-term 4"},
                          {"charlie", "--term-delay 300 --exit-on-term 5"}}),
                log(), environment());
  ASSERT_TRUE(wait_until(
      [&] {
        return all_started_once({"alpha", "bravo", "charlie"});
      },
      15s))
      << visor.output();
  // Spawned in list order: the kernel hands out increasing pids.
  EXPECT_LT(pids("alpha")[0], pids("bravo")[0]);
  EXPECT_LT(pids("bravo")[0], pids("charlie")[0]);
  for (const char* name : {"alpha", "bravo", "charlie"}) {
    EXPECT_TRUE(running(name, "1.0.0")) << name;
    EXPECT_EQ(argv_of(name)[0], "run") << name;  // each child runs its own command
  }

  visor.signal(SIGTERM);
  // visor ends with the status of the first child of the list.
  EXPECT_EQ(visor.wait(20s), 3) << visor.output();
  std::vector<std::string> stops;
  std::map<std::string, long long> term_at;
  std::map<std::string, long long> exit_at;
  for (const auto& event : events()) {
    if (event.what == "term") term_at[event.child] = event.at_ms;
    if (event.what == "exit") exit_at[event.child] = event.at_ms;
    if (event.what != "start") stops.push_back(event.child + " " + event.what);
  }
  EXPECT_EQ(stops, (std::vector<std::string>{"charlie term", "charlie exit", "bravo term",
                                             "bravo exit", "alpha term", "alpha exit"}))
      << read_file(dir_ / "events");
  // Each child was signalled only once the one after it in the list had exited.
  EXPECT_GE(term_at["bravo"], exit_at["charlie"]);
  EXPECT_GE(term_at["alpha"], exit_at["bravo"]);
  for (const char* name : {"alpha", "bravo", "charlie"}) {
    EXPECT_EQ(signals(name), std::vector<std::string>{"TERM"}) << name;
    EXPECT_EQ(pids(name).size(), 1u) << name;
  }
}

TEST_F(ServiceSet, AChildThatIgnoresTermIsKilledBeforeTheNextIsSignalled) {
  Process visor(wrap_set({{"alpha", "--exit-on-term 0"}, {"bravo", "--ignore-term"}},
                         {"--stop-timeout", "1s"}),
                log(), environment());
  ASSERT_TRUE(wait_until(
      [&] {
        return all_started_once({"alpha", "bravo"});
      },
      15s))
      << visor.output();
  const pid_t bravo = pids("bravo")[0];
  const auto sent = std::chrono::steady_clock::now();
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(20s), 0) << visor.output();
  EXPECT_GE(std::chrono::steady_clock::now() - sent, 900ms);  // bravo's stop timeout ran out
  EXPECT_FALSE(alive(bravo));
  // alpha was told to stop only after bravo was killed.
  EXPECT_EQ(children_with("term"), std::vector<std::string>{"alpha"});
  EXPECT_EQ(signals("alpha"), std::vector<std::string>{"TERM"});
}

TEST_F(ServiceSet, ForwardedSignalsReachEveryChildAtOnce) {
  Process visor(wrap_set({{"alpha", ""}, {"bravo", ""}, {"charlie", ""}}), log(), environment());
  ASSERT_TRUE(wait_until(
      [&] {
        return all_started_once({"alpha", "bravo", "charlie"});
      },
      15s))
      << visor.output();
  visor.signal(SIGHUP);
  visor.signal(SIGUSR1);
  for (const char* name : {"alpha", "bravo", "charlie"}) {
    EXPECT_TRUE(wait_until([&] { return signals(name).size() == 2; }, 10s)) << name;
    auto got = signals(name);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<std::string>{"HUP", "USR1"})) << name;
  }
  std::this_thread::sleep_for(300ms);
  for (const char* name : {"alpha", "bravo", "charlie"}) {
    EXPECT_TRUE(started_and_alive(name, 1)) << name << ": a forwarded signal is not a stop";
  }
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(20s), 128 + SIGTERM) << visor.output();
}

TEST_F(ServiceSet, IndependentChildrenRestartAlone) {
  Process visor(
      wrap_set({{"alpha", ""}, {"bravo", ""}, {"charlie", ""}}, {"--backoff-initial", "200ms"}),
      log(), environment());
  ASSERT_TRUE(wait_until(
      [&] {
        return all_started_once({"alpha", "bravo", "charlie"});
      },
      15s))
      << visor.output();
  const pid_t alpha = pids("alpha")[0];
  const pid_t charlie = pids("charlie")[0];
  ASSERT_EQ(::kill(pids("bravo")[0], SIGKILL), 0);
  ASSERT_TRUE(wait_until([&] { return started_and_alive("bravo", 2); }, 15s)) << visor.output();
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(pids("alpha"), std::vector<pid_t>{alpha});
  EXPECT_EQ(pids("charlie"), std::vector<pid_t>{charlie});
  EXPECT_TRUE(alive(alpha));
  EXPECT_TRUE(alive(charlie));
  EXPECT_TRUE(signals("alpha").empty());
  EXPECT_TRUE(signals("charlie").empty());
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(20s), 128 + SIGTERM) << visor.output();
}

TEST_F(ServiceSet, IndependentChildrenNotRestartedLeaveTheOthersAndTheFirstChildsStatusEndsVisor) {
  Process visor(wrap_set({{"alpha", "--exit 7 --after 300"}, {"bravo", ""}, {"charlie", ""}},
                         {"--restart", "never"}),
                log(), environment());
  ASSERT_TRUE(wait_until(
      [&] {
        return all_started_once({"bravo", "charlie"});
      },
      15s))
      << visor.output();
  ASSERT_TRUE(
      wait_until([&] { return pids("alpha").size() == 1 && !alive(pids("alpha")[0]); }, 15s));
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(visor.running());
  EXPECT_TRUE(started_and_alive("bravo", 1));
  EXPECT_TRUE(started_and_alive("charlie", 1));
  EXPECT_TRUE(signals("bravo").empty());
  EXPECT_EQ(pids("alpha").size(), 1u);

  ASSERT_EQ(::kill(pids("bravo")[0], SIGKILL), 0);
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(visor.running()) << "charlie still runs";
  EXPECT_EQ(pids("bravo").size(), 1u);
  ASSERT_EQ(::kill(pids("charlie")[0], SIGKILL), 0);
  // No child left: visor ends with the first child's (alpha's) last exit.
  EXPECT_EQ(visor.wait(15s), 7) << visor.output();
}

TEST_F(ServiceSet, AChildThatExhaustsItsBudgetStopsTheOthersAndVisorExitsOne) {
  Process visor(wrap_set({{"alpha", ""}, {"bravo", "--exit 1 --after 100"}, {"charlie", ""}},
                         {"--backoff-initial", "100ms", "--backoff-max", "200ms", "--max-restarts",
                          "2", "--restart-window", "1m"}),
                log(), environment());
  EXPECT_EQ(visor.wait(30s), 1) << visor.output();
  EXPECT_EQ(pids("bravo").size(), 3u) << "the first start and 2 restarts; the 3rd crash gives up";
  for (const char* name : {"alpha", "charlie"}) {
    ASSERT_EQ(pids(name).size(), 1u) << name;
    EXPECT_FALSE(alive(pids(name)[0])) << name;
    EXPECT_EQ(signals(name), std::vector<std::string>{"TERM"}) << name;
  }
}

TEST_F(ServiceSet, TogetherAnyCrashRestartsTheWholeSet) {
  Process visor(wrap_set({{"alpha", ""}, {"bravo", ""}},
                         {"--group", "together", "--backoff-initial", "200ms"}),
                log(), environment());
  ASSERT_TRUE(wait_until(
      [&] {
        return all_started_once({"alpha", "bravo"});
      },
      15s))
      << visor.output();
  ASSERT_EQ(::kill(pids("bravo")[0], SIGKILL), 0);
  ASSERT_TRUE(wait_until(
      [&] { return started_and_alive("alpha", 2) && started_and_alive("bravo", 2); }, 15s))
      << visor.output();
  EXPECT_EQ(signals("alpha"), std::vector<std::string>{"TERM"});  // stopped, not left running
  EXPECT_LT(pids("alpha")[1], pids("bravo")[1]);                  // restarted in list order
  // And the other way round: the first child crashing takes the second with it.
  ASSERT_EQ(::kill(pids("alpha")[1], SIGKILL), 0);
  ASSERT_TRUE(wait_until(
      [&] { return started_and_alive("alpha", 3) && started_and_alive("bravo", 3); }, 15s))
      << visor.output();
  EXPECT_EQ(signals("bravo"), std::vector<std::string>{"TERM"});
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(20s), 128 + SIGTERM) << visor.output();
}

TEST_F(ServiceSet, TogetherACleanExitStopsTheSet) {
  // on-failure does not restart a clean exit; with together the set stops with it.
  Process visor(wrap_set({{"alpha", "--exit-on-term 9"}, {"bravo", "--exit 0 --after 500"}},
                         {"--group", "together"}),
                log(), environment());
  EXPECT_EQ(visor.wait(20s), 9) << visor.output();
  EXPECT_EQ(signals("alpha"), std::vector<std::string>{"TERM"});
  EXPECT_EQ(pids("alpha").size(), 1u);
  EXPECT_EQ(pids("bravo").size(), 1u);
}

TEST_F(ServiceSet, HealthMetricsAndStatusShowEveryChild) {
  const int port = free_port();
  Process visor(wrap_set({{"alpha", ""}, {"bravo", ""}, {"charlie", ""}},
                         {"--health-listen", "127.0.0.1:" + std::to_string(port),
                          "--backoff-initial", "3s", "--healthy-after", "1s"}),
                log(), environment());
  const std::vector<std::string> names{"alpha", "bravo", "charlie"};
  ASSERT_TRUE(wait_until([&] { return all_started_once(names); }, 15s)) << visor.output();
  ASSERT_TRUE(wait_until([&] { return http_get(port, "/healthz").status == 200; }, 10s))
      << visor.output();
  EXPECT_EQ(http_get(port, "/readyz").status, 200);

  const HttpReply metrics_reply = http_get(port, "/metrics");
  const auto metrics = testing::validate_prometheus_text(metrics_reply.body);
  EXPECT_TRUE(metrics.errors.empty()) << metrics_reply.body;
  for (const auto& name : names) {
    EXPECT_EQ(metrics.value("visor_child_up", {{"child", name}}), 1) << name << "\n"
                                                                     << metrics_reply.body;
    EXPECT_EQ(metrics.value("visor_child_restarts_total", {{"child", name}}), 0) << name;
    EXPECT_TRUE(metrics.value("visor_child_uptime_seconds", {{"child", name}})) << name;
  }
  if (::access("/usr/bin/promtool", X_OK) == 0) {
    write_file(dir_ / "metrics.txt", metrics_reply.body);
    const CommandResult promtool =
        run_command("/usr/bin/promtool check metrics < '" + (dir_ / "metrics.txt") + "'");
    EXPECT_EQ(promtool.status, 0) << promtool.output;
  }

  // status --json: one entry per child, in list order, with what the child files say.
  std::this_thread::sleep_for(1100ms);  // at least a second of uptime
  const auto status = status_json();
  ASSERT_TRUE(status.is_object()) << status;
  ASSERT_TRUE(status.contains("children") && status["children"].is_array()) << status.dump(2);
  ASSERT_EQ(status["children"].size(), 3u) << status.dump(2);
  for (std::size_t index = 0; index < names.size(); ++index) {
    const auto& child = status["children"][index];
    EXPECT_EQ(child.value("name", ""), names[index]) << child;
    EXPECT_EQ(child.value("pid", 0), pids(names[index])[0]) << child;
    EXPECT_EQ(child.value("state", ""), "running") << child;
    EXPECT_EQ(child.value("restarts", -1), 0) << child;
    EXPECT_EQ(child.value("version", ""), "1.0.0") << child;
    ASSERT_TRUE(child.contains("uptime_seconds") && child["uptime_seconds"].is_number()) << child;
    EXPECT_GE(child["uptime_seconds"].get<double>(), 1.0) << child;
  }
  // The text form: one line per child, naming it and its pid.
  const CommandResult text = run_command(visor_binary() + " status --home '" + home() + "'");
  EXPECT_EQ(text.status, 0) << text.output;
  for (const auto& name : names) {
    int lines = 0;
    std::istringstream stream(text.output);
    std::string line;
    while (std::getline(stream, line)) {
      if (line.find(" " + name + " ") != std::string::npos &&
          line.find(std::to_string(pids(name)[0])) != std::string::npos) {
        ++lines;
      }
    }
    EXPECT_EQ(lines, 1) << name << "\n" << text.output;
  }

  // bravo dies and waits 3 s for its restart: /healthz and /readyz say 503 and name it.
  ASSERT_EQ(::kill(pids("bravo")[0], SIGKILL), 0);
  ASSERT_TRUE(wait_until([&] { return http_get(port, "/healthz").status == 503; }, 5s))
      << visor.output();
  const HttpReply down = http_get(port, "/healthz");
  EXPECT_NE(down.body.find("bravo"), std::string::npos) << down.body;
  EXPECT_EQ(http_get(port, "/readyz").status, 503);
  const auto during = testing::validate_prometheus_text(http_get(port, "/metrics").body);
  EXPECT_EQ(during.value("visor_child_up", {{"child", "alpha"}}), 1);
  EXPECT_EQ(during.value("visor_child_up", {{"child", "bravo"}}), 0);
  EXPECT_EQ(during.value("visor_child_up", {{"child", "charlie"}}), 1);
  const auto status_down = status_json();
  ASSERT_TRUE(status_down.contains("children")) << status_down;
  EXPECT_NE(status_down["children"][1].value("state", ""), "running") << status_down.dump(2);

  ASSERT_TRUE(wait_until([&] { return started_and_alive("bravo", 2); }, 15s)) << visor.output();
  ASSERT_TRUE(wait_until([&] { return http_get(port, "/healthz").status == 200; }, 10s))
      << visor.output();
  const auto after = testing::validate_prometheus_text(http_get(port, "/metrics").body);
  EXPECT_EQ(after.value("visor_child_restarts_total", {{"child", "bravo"}}), 1);
  EXPECT_EQ(after.value("visor_child_restarts_total", {{"child", "alpha"}}), 0);
  EXPECT_EQ(after.value("visor_child_up", {{"child", "bravo"}}), 1);
  ASSERT_TRUE(wait_until(
      [&] {
        const auto again = status_json();
        return again.contains("children") && again["children"].size() == 3 &&
               again["children"][1].value("pid", 0) == pids("bravo")[1];
      },
      10s))
      << status_json().dump(2);
  const auto status_after = status_json();
  EXPECT_EQ(status_after["children"][1].value("restarts", -1), 1) << status_after.dump(2);
  EXPECT_EQ(status_after["children"][0].value("pid", 0), pids("alpha")[0]);
  EXPECT_EQ(status_after["children"][0].value("restarts", -1), 0);

  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(20s), 128 + SIGTERM) << visor.output();
}

TEST_F(ServiceSet, SystemdHearsReadyOnceAndStatusNamesTheChildren) {
  NotifySocket notify(dir_ / "notify.sock");
  Process visor(wrap_set({{"alpha", ""}, {"bravo", ""}}, {"--backoff-initial", "500ms"}), log(),
                [&] {
                  auto variables = environment();
                  variables["NOTIFY_SOCKET"] = dir_ / "notify.sock";
                  return variables;
                }(),
                {"WATCHDOG_USEC", "WATCHDOG_PID"});
  ASSERT_TRUE(wait_until([&] { return notify.count("READY=1") == 1; }, 10s))
      << notify.all_text() << visor.output();
  ASSERT_TRUE(wait_until([&] { return all_started_once({"alpha", "bravo"}); }, 10s));
  const auto names_both = [&] {
    for (const auto& line : notify.lines()) {
      if (line.rfind("STATUS=", 0) == 0 && line.find("alpha") != std::string::npos &&
          line.find("bravo") != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(wait_until(names_both, 5s)) << notify.all_text();

  // bravo crashes and is restarted: the status says so; READY=1 is not sent again.
  const int statuses = notify.count_prefix("STATUS=");
  ASSERT_EQ(::kill(pids("bravo")[0], SIGKILL), 0);
  ASSERT_TRUE(wait_until([&] { return started_and_alive("bravo", 2); }, 15s)) << visor.output();
  EXPECT_GT(notify.count_prefix("STATUS="), statuses) << notify.all_text();
  EXPECT_EQ(notify.count("READY=1"), 1) << notify.all_text();
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(20s), 128 + SIGTERM) << visor.output();
  EXPECT_EQ(notify.count("STOPPING=1"), 1) << notify.all_text();
}

TEST_F(ServiceSet, CreateServiceWritesAUnitForASet) {
  ASSERT_EQ(::access("/usr/bin/systemd-analyze", X_OK), 0)
      << "systemd-analyze is missing: install Debian's systemd package (scripts/install-deps.sh "
         "--ops)";
  const std::string unit = dir_ / "visor-e2e-set.service";
  Process create({visor_binary(), "create-service", "--visor-path", visor_binary(), "--child",
                  "alpha=node run --config /etc/alpha.yml", "--child",
                  "bravo=node run --config /etc/bravo.yml", "--visor-args", "--group together",
                  "--home", home(), "--name", "visor-e2e-set", "--output", unit},
                 dir_ / "create.log", environment());
  ASSERT_EQ(create.wait(10s), 0) << create.output();
  const std::string text = read_file(unit);
  // ExecStart= with its continuation lines ("\" at the end of a line) joined.
  std::string exec_start;
  {
    std::istringstream lines(text);
    std::string line;
    bool continued = false;
    while (std::getline(lines, line)) {
      if (!continued && line.rfind("ExecStart=", 0) != 0) continue;
      continued = !line.empty() && line.back() == '\\';
      exec_start += continued ? line.substr(0, line.size() - 1) : line;
      if (!continued) break;
    }
  }
  ASSERT_EQ(exec_start.rfind("ExecStart=" + visor_binary() + " wrap", 0), 0) << text;
  EXPECT_EQ(count_occurrences(exec_start, "--child"), 2) << exec_start;
  for (const char* part : {"alpha=", "bravo=", "/etc/alpha.yml", "/etc/bravo.yml", "together"}) {
    EXPECT_NE(exec_start.find(part), std::string::npos) << part << "\n" << exec_start;
  }
  EXPECT_EQ(exec_start.find("--cmd"), std::string::npos) << exec_start;
  EXPECT_NE(text.find("\nType=notify\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nKillMode=mixed\n"), std::string::npos) << text;
  const CommandResult verify = run_command("/usr/bin/systemd-analyze verify '" + unit + "'");
  EXPECT_EQ(verify.status, 0) << verify.output;
  std::istringstream lines(verify.output);
  std::string line;
  while (std::getline(lines, line)) {
    EXPECT_EQ(line.find("visor-e2e-set"), std::string::npos) << "verify complains: " << line;
  }

  // A set wrap would refuse is refused here too, and nothing is written.
  const std::string refused_unit = dir_ / "refused.service";
  Process refused(
      {visor_binary(), "create-service", "--visor-path", visor_binary(), "--child",
       "alpha=node run", "--child", "alpha=node run", "--home", home(), "--output", refused_unit},
      dir_ / "refused.log", environment());
  EXPECT_EQ(refused.wait(10s), 2) << refused.output();
  EXPECT_NE(refused.output().find("alpha"), std::string::npos) << refused.output();
  EXPECT_FALSE(std::filesystem::exists(refused_unit));
}

}  // namespace
}  // namespace visor::e2e
