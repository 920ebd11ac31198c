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
//   --label L           the name this child goes by in --event-log
//   --event-log F       append "L start MS" once the signal handlers are set, "L term MS" when
//                       SIGTERM or SIGINT arrives and "L exit MS" just before it exits for it
//                       (MS: CLOCK_MONOTONIC milliseconds; several children may share F)
//   --term-delay MS     on SIGTERM or SIGINT, wait MS before exiting (a slow shutdown)
// Run as `<child> datanode network-history latest-history-segment ... --home H`, it plays a
// Vega data node's history query instead: it appends its arguments (one line, space-separated)
// to H/history-calls and answers from the file H/history-reply (or $VISOR_TEST_HISTORY_REPLY
// without --home): its content goes to stdout with exit 0; a first line "EXIT N" sends the rest
// to stderr with exit N; a first line "SLEEP MS" waits MS milliseconds (a slow query), then
// answers with the rest; a missing file is "no history reply file" on stderr and exit 1.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

namespace {

const char* g_signal_log = nullptr;
const char* g_event_log = nullptr;
const char* g_label = "child";
int g_exit_on_term = -1;
int g_term_delay_ms = 0;

// Appends `parts` and a newline to `path` with one write(2). No allocation: it runs inside the
// signal handler too (only async-signal-safe calls there).
void append_parts(const char* path, std::initializer_list<const char*> parts) {
  char line[512];
  std::size_t length = 0;
  for (const char* part : parts) {
    for (; *part && length + 1 < sizeof line; ++part) line[length++] = *part;
  }
  line[length++] = '\n';
  const int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) return;
  ssize_t ignored = write(fd, line, length);
  (void)ignored;
  close(fd);
}

void append_line(const char* path, const std::string& line) { append_parts(path, {line.c_str()}); }

long long monotonic_ms() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec * 1000LL + now.tv_nsec / 1000000;
}

void log_event(const char* what) {
  if (!g_event_log) return;
  char digits[24];  // the milliseconds, written out by hand (no allocation, signal-safe)
  std::size_t at = sizeof digits;
  digits[--at] = '\0';
  long long ms = monotonic_ms();
  do {
    digits[--at] = static_cast<char>('0' + ms % 10);
    ms /= 10;
  } while (ms > 0 && at > 0);
  append_parts(g_event_log, {g_label, " ", what, " ", digits + at});
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
  if (g_signal_log) append_parts(g_signal_log, {name_of(signal_number)});
  if (signal_number == SIGTERM || signal_number == SIGINT) {
    log_event("term");
    if (g_term_delay_ms > 0) usleep(static_cast<useconds_t>(g_term_delay_ms) * 1000);
    log_event("exit");
    if (g_exit_on_term >= 0) _exit(g_exit_on_term);
    signal(signal_number, SIG_DFL);
    raise(signal_number);
  }
}

std::string read_whole(const std::string& path, bool* found) {
  std::string text;
  const int fd = open(path.c_str(), O_RDONLY);
  *found = fd >= 0;
  if (fd < 0) return text;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<size_t>(n));
  close(fd);
  return text;
}

// `datanode network-history latest-history-segment ...`: see the header.
int answer_history_query(const std::vector<std::string>& args) {
  std::string reply_path;
  std::string call;
  for (size_t i = 0; i < args.size(); ++i) {
    call += (i ? " " : "") + args[i];
    if (args[i] == "--home" && i + 1 < args.size()) reply_path = args[i + 1];
  }
  if (!reply_path.empty()) {
    append_line((reply_path + "/history-calls").c_str(), call);
    reply_path += "/history-reply";
  } else if (const char* from_environment = std::getenv("VISOR_TEST_HISTORY_REPLY")) {
    reply_path = from_environment;
  }
  bool found = false;
  std::string reply = reply_path.empty() ? "" : read_whole(reply_path, &found);
  if (!found) {
    std::fprintf(stderr, "no history reply file\n");
    return 1;
  }
  if (reply.rfind("SLEEP ", 0) == 0) {
    const size_t end = reply.find('\n');
    const long milliseconds = std::atol(reply.substr(6, end).c_str());
    struct timespec pause {};
    pause.tv_sec = milliseconds / 1000;
    pause.tv_nsec = (milliseconds % 1000) * 1000000L;
    while (nanosleep(&pause, &pause) != 0 && errno == EINTR) {
    }
    reply = end == std::string::npos ? "" : reply.substr(end + 1);
  }
  if (reply.rfind("EXIT ", 0) == 0) {
    const size_t end = reply.find('\n');
    const int code = std::atoi(reply.substr(5, end).c_str());
    const std::string rest = end == std::string::npos ? "" : reply.substr(end + 1);
    std::fprintf(stderr, "%s", rest.c_str());
    return code;
  }
  std::printf("%s", reply.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() >= 3 && args[0] == "datanode" && args[1] == "network-history" &&
      args[2] == "latest-history-segment") {
    return answer_history_query(args);
  }
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
    } else if (arg == "--label" && has_value) {
      g_label = args[++i].c_str();  // `args` lives as long as main
    } else if (arg == "--event-log" && has_value) {
      g_event_log = args[++i].c_str();
    } else if (arg == "--term-delay" && has_value) {
      g_term_delay_ms = std::atoi(args[++i].c_str());
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
  log_event("start");
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
