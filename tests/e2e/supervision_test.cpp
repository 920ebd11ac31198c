// End-to-end: the real build/visor supervising the real test child.
#include <dirent.h>
#include <signal.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "e2e_util.h"

namespace visor::e2e {
namespace {

class Supervision : public ::testing::Test {
 protected:
  std::vector<std::string> wrap(const std::string& cmd, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{visor_binary(), "wrap", "--home", dir_ / "home", "--cmd", cmd};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  std::string child() const { return test_child_binary(); }
  std::string log() const { return dir_ / "visor.log"; }

  TempDir dir_;
};

TEST_F(Supervision, ArgvArrivesLiterallyWithoutAShell) {
  const std::string argv_file = dir_ / "argv";
  Process visor(
      wrap(child() + " --argv-file " + argv_file +
           R"( 'two words' '$(touch /tmp/pwned)' "dq \"x\" \$HOME" back\ slash '*' ';' '|')"),
      log());
  ASSERT_TRUE(wait_until([&] { return read_lines(argv_file).size() == 9; }, 10s)) << visor.output();
  EXPECT_EQ(read_lines(argv_file),
            (std::vector<std::string>{"--argv-file", argv_file, "two words", "$(touch /tmp/pwned)",
                                      R"(dq "x" $HOME)", "back slash", "*", ";", "|"}));
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(10s), 128 + SIGTERM);
}

TEST_F(Supervision, TheChildInheritsEnvironmentAndOutput) {
  const std::string cwd_file = dir_ / "cwd";
  Process visor(wrap(child() + " --cwd-file " + cwd_file + " --print hello-from-child --exit 0"),
                log(), {{"VISOR_TEST_MARK", "mark-42"}});
  EXPECT_EQ(visor.wait(10s), 0);
  const auto lines = read_lines(cwd_file);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1], "mark-42");
  EXPECT_NE(visor.output().find("hello-from-child\n"), std::string::npos);
}

TEST_F(Supervision, TermIsForwardedAndTheExitCodePropagated) {
  const std::string signals = dir_ / "signals";
  Process visor(
      wrap(child() + " --exit-on-term 7 --signal-log " + signals + " --pid-file " + (dir_ / "pid")),
      log());
  ASSERT_TRUE(wait_until([&] { return !read_file(dir_ / "pid").empty(); }, 10s));
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(10s), 7);
  EXPECT_EQ(read_lines(signals), std::vector<std::string>{"TERM"});
}

TEST_F(Supervision, IntIsForwardedAsInt) {
  const std::string signals = dir_ / "signals";
  Process visor(wrap(child() + " --signal-log " + signals + " --pid-file " + (dir_ / "pid")),
                log());
  ASSERT_TRUE(wait_until([&] { return !read_file(dir_ / "pid").empty(); }, 10s));
  visor.signal(SIGINT);
  EXPECT_EQ(visor.wait(10s), 128 + SIGINT);
  EXPECT_EQ(read_lines(signals), std::vector<std::string>{"INT"});
}

TEST_F(Supervision, DeathBySignalBecomes128PlusSignal) {
  Process visor(wrap(child() + " --kill-self 9 --after 50", {"--restart", "never"}), log());
  EXPECT_EQ(visor.wait(10s), 137);
}

TEST_F(Supervision, ExitCodeIsPassedThroughWithRestartNever) {
  Process visor(wrap(child() + " --exit 7", {"--restart", "never"}), log());
  EXPECT_EQ(visor.wait(10s), 7);
}

TEST_F(Supervision, OtherSignalsAreForwardedWithoutStopping) {
  const std::string signals = dir_ / "signals";
  Process visor(wrap(child() + " --signal-log " + signals + " --pid-file " + (dir_ / "pid")),
                log());
  ASSERT_TRUE(wait_until([&] { return !read_file(dir_ / "pid").empty(); }, 10s));
  for (const int signal_number : {SIGHUP, SIGUSR1, SIGUSR2, SIGQUIT}) {
    const size_t before = read_lines(signals).size();
    visor.signal(signal_number);
    ASSERT_TRUE(wait_until([&] { return read_lines(signals).size() == before + 1; }, 10s))
        << "signal " << signal_number << "\n"
        << visor.output();
  }
  EXPECT_EQ(read_lines(signals), (std::vector<std::string>{"HUP", "USR1", "USR2", "QUIT"}));
  EXPECT_TRUE(visor.running());
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(10s), 128 + SIGTERM);
}

TEST_F(Supervision, AChildIgnoringTermIsKilledAfterTheStopTimeout) {
  Process visor(
      wrap(child() + " --ignore-term --pid-file " + (dir_ / "pid"), {"--stop-timeout", "500ms"}),
      log());
  ASSERT_TRUE(wait_until([&] { return !read_file(dir_ / "pid").empty(); }, 10s));
  const auto start = std::chrono::steady_clock::now();
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 137);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 450ms);
  EXPECT_LT(took, 10s);
  EXPECT_NE(visor.output().find("SIGKILL"), std::string::npos) << visor.output();
}

TEST_F(Supervision, BackoffDelaysGrowThenVisorGivesUp) {
  const std::string starts = dir_ / "starts";
  Process visor(wrap(child() + " --start-log " + starts + " --exit 3",
                     {"--backoff-initial", "200ms", "--backoff-max", "5s", "--max-restarts", "3",
                      "--restart-window", "1m"}),
                log());
  EXPECT_EQ(visor.wait(30s), 1) << visor.output();
  const auto lines = read_lines(starts);
  ASSERT_EQ(lines.size(), 4u) << "the first start and 3 restarts; the 4th crash gives up\n"
                              << visor.output();
  std::vector<long long> delays;
  for (size_t i = 1; i < lines.size(); ++i)
    delays.push_back(std::stoll(lines[i]) - std::stoll(lines[i - 1]));
  // Nominal 200, 400, 800 ms with at most +-20% jitter (plus the time to start a process).
  EXPECT_GE(delays[0], 160);
  EXPECT_GE(delays[1], 320);
  EXPECT_GE(delays[2], 640);
  EXPECT_GT(delays[1], delays[0]);
  EXPECT_GT(delays[2], delays[1]);
  const std::string output = visor.output();
  EXPECT_EQ(count_occurrences(output, "giving up"), 1) << output;
}

TEST_F(Supervision, ACrashedChildIsRestartedAndKeepsRunning) {
  const std::string starts = dir_ / "starts";
  const std::string once = dir_ / "crashed-once";
  // The first run crashes; the restarted one runs until stopped.
  write_file(dir_ / "crash-once.sh",
             "#!/bin/sh\n"
             "if [ ! -e '" +
                 once + "' ]; then touch '" + once + "'; exec '" + child() + "' --start-log '" +
                 starts +
                 "' --exit 1; fi\n"
                 "exec '" +
                 child() + "' --start-log '" + starts + "'\n",
             0755);
  Process visor(wrap(dir_ / "crash-once.sh", {"--backoff-initial", "100ms"}), log());
  ASSERT_TRUE(wait_until([&] { return read_lines(starts).size() == 2; }, 10s)) << visor.output();
  EXPECT_TRUE(visor.running());
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(10s), 128 + SIGTERM);
}

// --stdin-file feeds every start of the child the whole file (a keyring password, say); its
// content shows nowhere in visor's log, its argv or status.json. A file that is gone by a later
// start gives that child an empty stdin (never visor's own) and one error line.
TEST_F(Supervision, StdinFileFeedsEveryStartAndIsNeverLogged) {
  const std::string secret = dir_ / "password";
  write_file(secret, "hunter2-not-in-logs", 0600);
  const std::string copies = dir_ / "stdin-copies";
  // visor's own stdin has content of its own: a child that fell back to it would show it.
  write_file(dir_ / "visor-stdin", "visor's own stdin");
  std::vector<std::string> argv{"/bin/sh", "-c",
                                "exec \"$0\" \"$@\" < '" + (dir_ / "visor-stdin") + "'"};
  for (const auto& word :
       wrap(child() + " --stdin-copy " + copies + " --exit 1",
            {"--stdin-file", secret, "--backoff-initial", "100ms", "--backoff-max", "200ms",
             "--max-restarts", "50", "--log-level", "debug"})) {
    argv.push_back(word);
  }
  Process visor(argv, log());
  ASSERT_TRUE(wait_until([&] { return read_lines(copies).size() >= 3; }, 15s)) << visor.output();
  const auto lines = read_lines(copies);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(lines[i], "stdin:hunter2-not-in-logs") << i;

  std::remove(secret.c_str());
  const std::size_t before = read_lines(copies).size();
  ASSERT_TRUE(wait_until([&] { return read_lines(copies).size() >= before + 2; }, 15s))
      << visor.output();
  const auto later = read_lines(copies);
  for (std::size_t i = before; i < later.size(); ++i) {
    EXPECT_EQ(later[i], "stdin:") << "start " << i
                                  << ": an empty stdin once the file is gone, never visor's own";
  }
  visor.signal(SIGTERM);
  visor.wait(10s);

  const std::string output = visor.output();
  EXPECT_EQ(output.find("hunter2"), std::string::npos) << output;
  EXPECT_NE(output.find("cannot open --stdin-file " + secret + ": No such file or directory"),
            std::string::npos)
      << output;
  EXPECT_EQ(read_file(dir_ / "home/status.json").find("hunter2"), std::string::npos);
}

// Counts zombies whose parent is `parent` (host pid).
int zombies_of(pid_t parent) {
  int zombies = 0;
  DIR* proc = opendir("/proc");
  if (!proc) return -1;
  while (dirent* entry = readdir(proc)) {
    if (!std::all_of(entry->d_name, entry->d_name + std::strlen(entry->d_name), ::isdigit))
      continue;
    // read_file: a process that exits meanwhile reads as empty, never as an exception.
    const std::string text = read_file(std::string("/proc/") + entry->d_name + "/stat");
    const auto close = text.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(text.substr(close + 2));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (state == 'Z' && ppid == parent) ++zombies;
  }
  closedir(proc);
  return zombies;
}

// The children of `parent` (host pids).
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> children;
  std::istringstream file(read_file("/proc/" + std::to_string(parent) + "/task/" +
                                    std::to_string(parent) + "/children"));
  pid_t pid;
  while (file >> pid) children.push_back(pid);
  return children;
}

// GET of a local URL with curl, the body as text.
std::string http_get(const std::string& url) {
  return run_command("curl -s --max-time 5 '" + url + "'", false).output;
}

TEST_F(Supervision, AsSubreaperItReapsEveryOrphan) {
  const std::string pid_file = dir_ / "pid";
  const int port = free_port();
  Process visor(wrap(child() + " --orphans 200 --pid-file " + pid_file,
                     {"--health-listen", "127.0.0.1:" + std::to_string(port)}),
                log());
  ASSERT_TRUE(wait_until([&] { return !read_file(pid_file).empty(); }, 20s)) << visor.output();
  // All 200 orphans end 20ms after their parent; none may stay a zombie of visor.
  EXPECT_TRUE(wait_until(
      [&] { return zombies_of(visor.pid()) == 0 && children_of(visor.pid()).size() == 1; }, 10s))
      << zombies_of(visor.pid()) << " zombies";
  // ... and each was counted.
  EXPECT_TRUE(wait_until(
      [&] {
        return http_get("http://127.0.0.1:" + std::to_string(port) + "/metrics")
                   .find("visor_orphans_reaped_total 200") != std::string::npos;
      },
      10s))
      << http_get("http://127.0.0.1:" + std::to_string(port) + "/metrics");
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(10s), 128 + SIGTERM);
}

TEST_F(Supervision, AsPid1InAPidNamespaceItReapsEveryOrphan) {
  const std::string pid_file = dir_ / "pid";
  std::vector<std::string> argv{"/usr/bin/unshare", "--pid", "--fork", "--mount-proc"};
  auto inner = wrap(child() + " --orphans 200 --pid-file " + pid_file);
  argv.insert(argv.end(), inner.begin(), inner.end());
  Process unshare(argv, log());
  ASSERT_TRUE(wait_until([&] { return !read_file(pid_file).empty(); }, 20s)) << unshare.output();
  // Inside the namespace visor is PID 1, so the child sees its parent... visor reports its pid.
  const std::string output = unshare.output();
  EXPECT_NE(output.find("pid=1"), std::string::npos) << output;
  const auto visor_pids = children_of(unshare.pid());
  ASSERT_EQ(visor_pids.size(), 1u);
  const pid_t visor_pid = visor_pids.front();
  EXPECT_TRUE(wait_until(
      [&] { return zombies_of(visor_pid) == 0 && children_of(visor_pid).size() == 1; }, 10s))
      << zombies_of(visor_pid) << " zombies";
  ::kill(visor_pid, SIGTERM);
  EXPECT_EQ(unshare.wait(10s), 128 + SIGTERM) << unshare.output();
}

TEST_F(Supervision, ASecondVisorOnTheSameHomeIsRefused) {
  Process first(wrap(child() + " --pid-file " + (dir_ / "pid")), log());
  ASSERT_TRUE(wait_until([&] { return !read_file(dir_ / "pid").empty(); }, 10s));
  Process second(wrap(child()), dir_ / "second.log");
  const auto code = second.wait(10s);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_NE(second.output().find("pid " + std::to_string(first.pid())), std::string::npos)
      << second.output();
  EXPECT_TRUE(first.running());
  first.signal(SIGTERM);
  EXPECT_EQ(first.wait(10s), 128 + SIGTERM);
}

TEST_F(Supervision, ConfigurationErrorsAreAllReportedWithExit2) {
  write_file(dir_ / "config.json", R"({"stop-timeout": "soon", "no-such-key": 1})");
  Process visor({visor_binary(), "wrap", "--home", dir_ / "home", "--config", dir_ / "config.json",
                 "--cmd", child(), "--restart", "sometimes", "--backoff-initial", "x"},
                log(), {{"VISOR_MAX_RESTARTS", "-3"}});
  EXPECT_EQ(visor.wait(10s), 2);
  const std::string output = visor.output();
  EXPECT_NE(output.find("stop-timeout"), std::string::npos) << output;
  EXPECT_NE(output.find("no-such-key"), std::string::npos) << output;
  EXPECT_NE(output.find("--restart"), std::string::npos) << output;
  EXPECT_NE(output.find("--backoff-initial"), std::string::npos) << output;
  EXPECT_NE(output.find("VISOR_MAX_RESTARTS"), std::string::npos) << output;
  EXPECT_NE(output.find("5 configuration error(s)"), std::string::npos) << output;
}

TEST_F(Supervision, AMissingBinaryIsAConfigurationError) {
  Process visor(wrap("no-such-binary-anywhere --flag"), log());
  EXPECT_EQ(visor.wait(10s), 2);
  EXPECT_NE(visor.output().find("no-such-binary-anywhere"), std::string::npos) << visor.output();
}

TEST_F(Supervision, BadQuotingIsAConfigurationError) {
  Process visor(wrap(child() + " 'unterminated"), log());
  EXPECT_EQ(visor.wait(10s), 2);
  EXPECT_NE(visor.output().find("unterminated single quote"), std::string::npos) << visor.output();
}

TEST_F(Supervision, JsonLogLinesParse) {
  Process visor(wrap(child() + " --exit 0", {"--log-format", "json"}), log());
  EXPECT_EQ(visor.wait(10s), 0);
  int json_lines = 0;
  for (const auto& line : read_lines(log())) {
    if (line.rfind("{\"time\":", 0) == 0 && line.find("\"event\":") != std::string::npos)
      ++json_lines;
  }
  EXPECT_GE(json_lines, 2) << visor.output();
}

}  // namespace
}  // namespace visor::e2e
