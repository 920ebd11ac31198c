// Shared by the source tests: a scratch directory, files written whole, a Python test server
// run as a child process, an io_context driven until a condition holds, and a recorder of
// everything a source reports.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "visor/sources/source.h"

namespace visor::test {

/// The directory of this file: the Python servers live beside it.
inline std::filesystem::path sources_test_dir() {
  // The build passes the source tree: __FILE__ can be relative (ccache's base_dir rewrites it).
  return std::filesystem::path(VISOR_SOURCE_DIR) / "tests" / "sources";
}

/// A fresh directory under /tmp, removed at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = "/tmp/visor-sources-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// Writes `content` to `path` in place (open, write, close: one IN_CLOSE_WRITE).
inline void write_file(const std::string& path, const std::string& content) {
  std::ofstream output(path, std::ios::binary | std::ios::trunc);
  output << content;
}

/// Writes `content` to a temporary name beside `path`, then renames it over `path`.
inline void replace_file(const std::string& path, const std::string& content) {
  write_file(path + ".tmp", content);
  std::filesystem::rename(path + ".tmp", path);
}

inline std::string read_file(const std::string& path) {
  std::ifstream input(path, std::ios::binary);
  std::stringstream buffer;
  buffer << input.rdbuf();
  return buffer.str();
}

/// The lines of a file (e.g. a test server's request log).
inline std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream input(path);
  for (std::string line; std::getline(input, line);) lines.push_back(line);
  return lines;
}

/// Runs `/usr/bin/python3 <script> <args>` as a child process; SIGKILLed and reaped at the end.
class PythonServer {
 public:
  PythonServer(const std::string& script, const std::vector<std::string>& arguments) {
    std::vector<std::string> words = {"/usr/bin/python3", (sources_test_dir() / script).string()};
    words.insert(words.end(), arguments.begin(), arguments.end());
    std::vector<char*> argv;  // built before fork: the child only calls execv
    for (auto& word : words) argv.push_back(word.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~PythonServer() { kill(); }
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  PythonServer(const PythonServer&) = delete;
  PythonServer& operator=(const PythonServer&) = delete;

 private:
  pid_t pid_ = -1;
};

/// Drives `io` until `done()` holds or `timeout` passes; true when it held.
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(8000)) {
  auto guard = boost::asio::make_work_guard(io);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(10));
  }
  return true;
}

/// Drives `io` for exactly `duration` (to check that nothing happens).
inline void run_for(boost::asio::io_context& io, std::chrono::milliseconds duration) {
  run_until(
      io, [] { return false; }, duration);
}

/// Waits (without an io_context) for a file to appear, e.g. a server's port file or socket.
inline bool wait_for_file(const std::string& path,
                          std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!std::filesystem::exists(path)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    ::usleep(10 * 1000);
  }
  return true;
}

/// Everything a source reported, in order.
struct Recorder {
  std::vector<UpgradeDecision> decisions;
  std::vector<std::string> errors;
  int polls_ok = 0;
  int polls_failed = 0;
  double max_latency = 0;

  Source::DecisionCallback on_decision() {
    return [this](const UpgradeDecision& decision) { decisions.push_back(decision); };
  }
  Source::ErrorCallback on_error() {
    return [this](const std::string& line) { errors.push_back(line); };
  }
  Source::PollCallback on_poll() {
    return [this](bool ok, double latency) {
      ++(ok ? polls_ok : polls_failed);
      if (latency > max_latency) max_latency = latency;
    };
  }
  void start(Source& source) { source.start(on_decision(), on_error(), on_poll()); }
  int polls() const { return polls_ok + polls_failed; }
};

}  // namespace visor::test
