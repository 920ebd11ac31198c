// A child for the tests to supervise. It does what its flags say, in order:
//   --version V         when argv[1] is "version", print V and exit 0
//   --argv-file F       write each argument on its own line to F (whole, by rename, once the
//                       handlers are set and the pid is appended: the last start-up step)
//   --pid-file F        append the pid to F (after the signal handlers are set)
//   --start-log F       append CLOCK_MONOTONIC milliseconds at start to F
//   --cwd-file F        write the working directory and $VISOR_TEST_MARK to F
//   --stdin-copy F      read stdin to its end and append it to F as one line "stdin:<bytes>"
//   --signal-log F      append the name of each received signal (HUP INT QUIT USR1 USR2 TERM)
//   --ignore-term       ignore SIGTERM and SIGINT
//   --exit-on-term N    exit with code N on SIGTERM (default: die of SIGTERM)
//   --orphans N         create N orphans: each a grandchild that outlives its parent
//   --print LINE        print LINE to stdout after start (repeatable)
//   --exit N            exit with code N after --after (default: run until a signal)
//   --after MS          delay before --exit or --kill-self (default 0)
//   --kill-self SIG     kill itself with signal number SIG after --after
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

const char* g_signal_log = nullptr;
int g_exit_on_term = -1;

void append_line(const char* path, const std::string& line) {
  const int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) return;
  const std::string text = line + "\n";
  ssize_t ignored = write(fd, text.data(), text.size());
  (void)ignored;
  close(fd);
}

const char* name_of(int signal_number) {
  switch (signal_number) {
    case SIGHUP:
      return "HUP";
    case SIGINT:
      return "INT";
    case SIGQUIT:
      return "QUIT";
    case SIGUSR1:
      return "USR1";
    case SIGUSR2:
      return "USR2";
    case SIGTERM:
      return "TERM";
    default:
      return "OTHER";
  }
}

void on_signal(int signal_number) {
  if (g_signal_log) append_line(g_signal_log, name_of(signal_number));
  if (signal_number == SIGTERM || signal_number == SIGINT) {
    if (g_exit_on_term >= 0) _exit(g_exit_on_term);
    signal(signal_number, SIG_DFL);
    raise(signal_number);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string version;
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--version") version = args[i + 1];
  }
  if (!args.empty() && args[0] == "version") {
    std::printf("%s\n", version.empty() ? "unknown" : version.c_str());
    return 0;
  }
  int exit_code = -1;
  int after_ms = 0;
  int kill_self = 0;
  bool ignore_term = false;
  const char* argv_file = nullptr;
  const char* pid_file = nullptr;
  int orphans = 0;
  std::vector<std::string> prints;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const bool has_value = i + 1 < args.size();
    if (arg == "--argv-file" && has_value) {
      argv_file = args[++i].c_str();
    } else if (arg == "--pid-file" && has_value) {
      pid_file = args[++i].c_str();
    } else if (arg == "--start-log" && has_value) {
      timespec now{};
      clock_gettime(CLOCK_MONOTONIC, &now);
      append_line(args[++i].c_str(), std::to_string(now.tv_sec * 1000LL + now.tv_nsec / 1000000));
    } else if (arg == "--cwd-file" && has_value) {
      char directory[4096] = {};
      const char* mark = std::getenv("VISOR_TEST_MARK");
      if (getcwd(directory, sizeof directory)) {
        append_line(args[++i].c_str(), std::string(directory) + "\n" + (mark ? mark : ""));
      }
    } else if (arg == "--stdin-copy" && has_value) {
      std::string input;
      char buffer[4096];
      ssize_t n;
      while ((n = read(0, buffer, sizeof buffer)) > 0) input.append(buffer, static_cast<size_t>(n));
      append_line(args[++i].c_str(), "stdin:" + input);
    } else if (arg == "--signal-log" && has_value) {
      g_signal_log = args[++i].c_str();
    } else if (arg == "--ignore-term") {
      ignore_term = true;
    } else if (arg == "--exit-on-term" && has_value) {
      g_exit_on_term = std::atoi(args[++i].c_str());
    } else if (arg == "--orphans" && has_value) {
      orphans = std::atoi(args[++i].c_str());
    } else if (arg == "--print" && has_value) {
      prints.push_back(args[++i]);
    } else if (arg == "--exit" && has_value) {
      exit_code = std::atoi(args[++i].c_str());
    } else if (arg == "--after" && has_value) {
      after_ms = std::atoi(args[++i].c_str());
    } else if (arg == "--kill-self" && has_value) {
      kill_self = std::atoi(args[++i].c_str());
    }
  }
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  for (int signal_number : {SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGTERM, SIGINT}) {
    sigaction(signal_number, &action, nullptr);
  }
  if (ignore_term) {
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
  }
  for (int n = 0; n < orphans; ++n) {
    const pid_t middle = fork();
    if (middle == 0) {
      if (fork() == 0) {
        usleep(20000);  // outlive the middle process, then end as an orphan
        _exit(0);
      }
      _exit(0);
    }
    if (middle > 0) waitpid(middle, nullptr, 0);
  }
  for (const auto& line : prints) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }
  // The pid file first, the argv file last and whole (temp + rename): a test that sees the argv
  // file can rely on the pid being recorded and the signal handlers being in place.
  if (pid_file) append_line(pid_file, std::to_string(getpid()));
  if (argv_file) {
    std::string text;
    for (const auto& arg : args) text += arg + "\n";
    const std::string temporary = std::string(argv_file) + ".tmp";
    const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ssize_t ignored = write(fd, text.data(), text.size());
      (void)ignored;
      close(fd);
      rename(temporary.c_str(), argv_file);
    }
  }
  if (exit_code >= 0 || kill_self > 0) {
    usleep(static_cast<useconds_t>(after_ms) * 1000);
    if (kill_self > 0) {
      signal(kill_self, SIG_DFL);
      kill(getpid(), kill_self);
    }
    return exit_code < 0 ? 0 : exit_code;
  }
  while (true) pause();
}
