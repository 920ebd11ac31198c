#include "visor/process/process_table.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "visor/config/options.h"

namespace visor {

bool ExitStatus::exited() const { return WIFEXITED(raw); }
bool ExitStatus::signaled() const { return WIFSIGNALED(raw); }
int ExitStatus::code() const { return WEXITSTATUS(raw); }
int ExitStatus::signal_number() const { return WTERMSIG(raw); }
int ExitStatus::shell_code() const {
  if (signaled()) return 128 + signal_number();
  return code();
}
std::string ExitStatus::describe() const {
  if (signaled()) return "signal " + signal_name(signal_number());
  return "exit code " + std::to_string(code());
}

ProcessTable& ProcessTable::instance() {
  static ProcessTable table;
  return table;
}

Result<pid_t> ProcessTable::spawn(const SpawnOptions& options, ExitCallback on_exit,
                                  int* exec_errno) {
  if (exec_errno) *exec_errno = 0;
  if (options.argv.empty()) return Result<pid_t>::failure("spawn: empty argv");
  // Everything the child needs is prepared before fork: after it only async-signal-safe calls.
  std::vector<char*> argv;
  argv.reserve(options.argv.size() + 1);
  for (const auto& word : options.argv) argv.push_back(const_cast<char*>(word.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> environment;
  for (const auto& entry : options.environment)
    environment.push_back(const_cast<char*>(entry.c_str()));
  environment.push_back(nullptr);

  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    return Result<pid_t>::failure("spawn " + options.path + ": pipe2: " + errno_text(errno));
  }

  // Held across fork and registration, so reap() cannot take this pid's status unregistered.
  std::unique_lock<std::mutex> lock(mutex_);
  const pid_t pid = fork();
  if (pid < 0) {
    const int error = errno;
    close(report[0]);
    close(report[1]);
    return Result<pid_t>::failure("spawn " + options.path + ": fork: " + errno_text(error));
  }
  if (pid == 0) {
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    for (int signal_number = 1; signal_number < NSIG; ++signal_number) {
      sigaction(signal_number, &default_action, nullptr);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (options.new_process_group) setpgid(0, 0);
    // dup2 clears close-on-exec on the copy; an fd that already is 0, 1 or 2 (visor started
    // with that stream closed) keeps its O_CLOEXEC unless it is cleared here.
    const int wanted[3] = {options.stdin_fd, options.stdout_fd, options.stderr_fd};
    for (int target = 0; target < 3; ++target) {
      if (wanted[target] < 0) continue;
      if (wanted[target] == target) {
        fcntl(target, F_SETFD, 0);
      } else {
        dup2(wanted[target], target);
      }
    }
    if (!options.working_directory.empty() && chdir(options.working_directory.c_str()) != 0) {
      const int error = errno;
      ssize_t ignored = write(report[1], &error, sizeof error);
      (void)ignored;
      _exit(127);
    }
    if (options.environment.empty()) {
      execv(options.path.c_str(), argv.data());
    } else {
      execve(options.path.c_str(), argv.data(), environment.data());
    }
    const int error = errno;
    ssize_t ignored = write(report[1], &error, sizeof error);
    (void)ignored;
    _exit(127);
  }
  entries_[pid] = Entry{std::move(on_exit), std::nullopt};
  lock.unlock();

  close(report[1]);
  int child_errno = 0;
  ssize_t got;
  do {
    got = read(report[0], &child_errno, sizeof child_errno);
  } while (got < 0 && errno == EINTR);
  close(report[0]);
  if (got == static_cast<ssize_t>(sizeof child_errno)) {
    if (exec_errno) *exec_errno = child_errno;
    // The child exits at once. Take its status here (or drop what reap() already took), so
    // that neither a zombie nor a callback for a process that never ran remains.
    {
      std::lock_guard<std::mutex> guard(mutex_);
      entries_[pid].on_exit = nullptr;
    }
    int raw = 0;
    while (waitpid(pid, &raw, 0) < 0 && errno == EINTR) {
    }
    {
      std::lock_guard<std::mutex> guard(mutex_);
      entries_.erase(pid);
    }
    return Result<pid_t>::failure("exec " + options.path + ": " + errno_text(child_errno));
  }
  return pid;
}

std::optional<ExitStatus> ProcessTable::wait(pid_t pid, Duration timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    auto it = entries_.find(pid);
    if (it == entries_.end()) return std::nullopt;  // not ours, or already taken
    if (it->second.status) {
      ExitStatus status = *it->second.status;
      entries_.erase(it);
      return status;
    }
    if (reaper_active_) {
      // The reaper may run on this very thread (the event loop waiting for a helper command
      // it runs itself): waiting only for its reap() would wait for nothing. So
      // this pid's status is also taken here; whichever waitpid gets it first, it is kept once.
      // (-1 means reap() took it and records it under the lock: wait for that below.)
      int raw = 0;
      if (waitpid(pid, &raw, WNOHANG) == pid) {
        entries_.erase(pid);
        return ExitStatus{raw};
      }
      if (SteadyClock::now() >= deadline) return std::nullopt;
      exited_.wait_for(lock, std::chrono::milliseconds(5));
      continue;
    }
    int raw = 0;
    const pid_t done = waitpid(pid, &raw, WNOHANG);
    if (done == pid) {
      entries_.erase(pid);
      return ExitStatus{raw};
    }
    if (done < 0 && errno != EINTR) {
      entries_.erase(pid);
      return std::nullopt;
    }
    if (SteadyClock::now() >= deadline) return std::nullopt;
    // No reaper runs: poll briefly. Short-lived probes end within milliseconds.
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    lock.lock();
  }
}

int ProcessTable::reap() {
  int orphans = 0;
  while (true) {
    int raw = 0;
    const pid_t pid = waitpid(-1, &raw, WNOHANG);
    if (pid <= 0) {
      if (pid < 0 && errno == EINTR) continue;
      break;  // 0: children remain but none has ended; ECHILD: no children at all
    }
    ExitCallback callback;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = entries_.find(pid);
      if (it == entries_.end()) {
        ++orphans;
        ++orphans_;
        continue;
      }
      if (it->second.on_exit) {
        callback = std::move(it->second.on_exit);
        entries_.erase(it);
      } else {
        it->second.status = ExitStatus{raw};
      }
    }
    exited_.notify_all();
    if (callback) callback(pid, ExitStatus{raw});
  }
  return orphans;
}

void ProcessTable::set_reaper_active(bool active) {
  std::lock_guard<std::mutex> lock(mutex_);
  reaper_active_ = active;
}

std::uint64_t ProcessTable::orphans_reaped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return orphans_;
}

Result<std::string> resolve_executable(const std::string& command) {
  auto executable = [](const std::string& path) {
    struct stat info {};
    return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
           access(path.c_str(), X_OK) == 0;
  };
  if (command.empty()) return Result<std::string>::failure("empty command");
  if (command.find('/') != std::string::npos) {
    if (executable(command)) return command;
    if (access(command.c_str(), F_OK) != 0) {
      return Result<std::string>::failure("command not found: " + command);
    }
    return Result<std::string>::failure("not an executable file: " + command);
  }
  const char* path_variable = std::getenv("PATH");
  std::string search = path_variable ? path_variable : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= search.size()) {
    size_t end = search.find(':', start);
    if (end == std::string::npos) end = search.size();
    std::string directory = search.substr(start, end - start);
    if (directory.empty()) directory = ".";
    const std::string candidate = directory + "/" + command;
    if (executable(candidate)) return candidate;
    start = end + 1;
  }
  return Result<std::string>::failure("command not found in PATH: " + command);
}

}  // namespace visor
