// End-to-end: the real build/visor talking to a notify socket bound by the test (as systemd
// would), and the unit of `visor create-service` checked by `systemd-analyze verify`.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "e2e_util.h"

namespace visor::e2e {
namespace {

TEST(OpsSystemd, NotifiesReadyStatusWatchdogAndStopping) {
  TempDir dir;
  NotifySocket notify(dir / "notify.sock");
  Process visor({visor_binary(), "wrap", "--home", dir / "home", "--cmd",
                 test_child_binary() + " --pid-file " + (dir / "pid")},
                dir / "visor.log",
                {{"NOTIFY_SOCKET", dir / "notify.sock"}, {"WATCHDOG_USEC", "200000"}},
                {"WATCHDOG_PID"});

  ASSERT_TRUE(wait_until([&] { return notify.count("READY=1") == 1; }, 10s))
      << notify.all_text() << visor.output();
  EXPECT_TRUE(notify.has_prefix("STATUS=running visor-test-child")) << notify.all_text();

  // WATCHDOG_USEC=200000: a ping every 100 ms from the event loop.
  const int pings_before = notify.count("WATCHDOG=1");
  EXPECT_TRUE(wait_until([&] { return notify.count("WATCHDOG=1") >= pings_before + 3; }, 2s))
      << notify.all_text();
  EXPECT_EQ(notify.count("STOPPING=1"), 0);

  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(10s), 128 + SIGTERM);
  EXPECT_EQ(notify.count("STOPPING=1"), 1) << notify.all_text();
  EXPECT_EQ(notify.count("READY=1"), 1);
  const auto& lines = notify.lines();
  const auto ready = std::find(lines.begin(), lines.end(), "READY=1");
  const auto stopping = std::find(lines.begin(), lines.end(), "STOPPING=1");
  EXPECT_LT(ready, stopping);
}

TEST(OpsSystemd, StatusFollowsACrashAndTheRestart) {
  TempDir dir;
  NotifySocket notify(dir / "notify.sock");
  Process visor({visor_binary(), "wrap", "--home", dir / "home", "--backoff-initial", "500ms",
                 "--cmd", test_child_binary() + " --pid-file " + (dir / "pid")},
                dir / "visor.log", {{"NOTIFY_SOCKET", dir / "notify.sock"}},
                {"WATCHDOG_USEC", "WATCHDOG_PID"});
  ASSERT_TRUE(wait_until([&] { return notify.count("READY=1") == 1; }, 10s)) << visor.output();
  ASSERT_TRUE(wait_until([&] { return read_lines(dir / "pid").size() == 1; }, 5s));
  ::kill(std::stoi(read_lines(dir / "pid")[0]), SIGKILL);
  ASSERT_TRUE(
      wait_until([&] { return notify.count_prefix("STATUS=running visor-test-child") == 2; }, 10s))
      << notify.all_text();
  EXPECT_EQ(notify.count_prefix("STATUS=backoff: restarting visor-test-child"), 1)
      << notify.all_text();
  EXPECT_EQ(notify.count("READY=1"), 1);     // once only
  EXPECT_EQ(notify.count("WATCHDOG=1"), 0);  // no WATCHDOG_USEC, no pings
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(10s), 128 + SIGTERM);
}

TEST(OpsSystemd, TheGeneratedUnitPassesSystemdAnalyzeVerify) {
  ASSERT_EQ(::access("/usr/bin/systemd-analyze", X_OK), 0)
      << "systemd-analyze is missing: install Debian's systemd package (scripts/install-deps.sh "
         "--ops)";
  TempDir dir;
  // No --user: verify would depend on this machine's user database.
  const std::string unit = dir / "visor-e2e-ops.service";
  // --visor-path: this build's visor (verify needs an existing binary; nothing is installed).
  Process create({visor_binary(), "create-service", "--visor-path", visor_binary(), "--cmd",
                  test_child_binary() + R"( --print "hello world" --print 100% --print $HOME)",
                  "--home", dir / "home", "--name", "visor-e2e-ops", "--output", unit,
                  "--visor-args", "--health-listen 127.0.0.1:9187 --stop-timeout 10s"},
                 dir / "create.log");
  ASSERT_EQ(create.wait(10s), 0) << create.output();
  const std::string text = read_file(unit);
  ASSERT_NE(text.find("ExecStart=" + visor_binary() + " wrap"), std::string::npos) << text;
  EXPECT_NE(text.find("\nTimeoutStopSec=25s\n"), std::string::npos) << text;

  const CommandResult verify = run_command("/usr/bin/systemd-analyze verify '" + unit + "'");
  EXPECT_EQ(verify.status, 0) << verify.output;
  // systemd-analyze may talk about this machine's other units; nothing may concern ours.
  std::istringstream lines(verify.output);
  std::string line;
  while (std::getline(lines, line)) {
    EXPECT_EQ(line.find("visor-e2e-ops"), std::string::npos) << "verify complains: " << line;
  }
}

// The README's walk-through writes the node's command once, in the home's config.json, then runs
// `visor create-service` without --cmd: the unit runs wrap with that home and that command.
TEST(OpsSystemd, CreateServiceTakesTheCommandFromTheHomesConfigFile) {
  TempDir dir;
  const std::string command = test_child_binary() + " --print 'from config'";
  ASSERT_EQ(::mkdir((dir / "home").c_str(), 0755), 0);
  write_file(dir / "home/config.json",
             nlohmann::json({{"cmd", command}, {"stop-timeout", "20s"}}).dump());
  const CommandResult created =
      run_command("'" + visor_binary() + "' create-service --visor-path '" + visor_binary() +
                  "' --home '" + (dir / "home") + "'");
  ASSERT_EQ(created.status, 0) << created.output;
  EXPECT_NE(created.output.find("\nType=notify\n"), std::string::npos) << created.output;
  EXPECT_NE(created.output.find("\nKillMode=mixed\n"), std::string::npos) << created.output;
  // wrap reads the command from the home's config.json at every start: the unit does not copy it.
  EXPECT_NE(created.output.find("--home " + (dir / "home") + "\n"), std::string::npos)
      << created.output;
  EXPECT_EQ(created.output.find("--cmd"), std::string::npos) << created.output;
  EXPECT_NE(created.output.find("\nTimeoutStopSec=35s\n"), std::string::npos) << created.output;

  // From VISOR_CMD, which the unit's environment does not have, the command is written into it.
  const CommandResult from_environment = run_command(
      "VISOR_CMD=\"" + command + "\" '" + visor_binary() + "' create-service --visor-path '" +
      visor_binary() + "' --home '" + (dir / "home") + "'");
  ASSERT_EQ(from_environment.status, 0) << from_environment.output;
  EXPECT_NE(from_environment.output.find("--print 'from config'"), std::string::npos)
      << from_environment.output;

  // Without a command anywhere it is the configuration error wrap would report.
  const CommandResult empty =
      run_command("'" + visor_binary() + "' create-service --home '" + (dir / "none") + "'");
  EXPECT_EQ(empty.status, 2) << empty.output;
  EXPECT_NE(empty.output.find("--cmd"), std::string::npos) << empty.output;
}

}  // namespace
}  // namespace visor::e2e
