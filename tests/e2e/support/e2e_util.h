// Helpers for end-to-end tests: run the real build/visor, wait for conditions, read files.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace visor::e2e {

using namespace std::chrono_literals;

/// A fresh directory under $TMPDIR, removed with everything in it at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// A process started by a test; its stdout and stderr go to one log file.
class Process {
 public:
  /// Starts `argv` (argv[0] is the path) with the test's environment plus `environment`.
  /// `unset` names variables to remove.
  Process(const std::vector<std::string>& argv, const std::string& log_path,
          const std::map<std::string, std::string>& environment = {},
          const std::vector<std::string>& unset = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  /// Waits for the process to end; its shell-style exit code, or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();
  void signal(int signal_number) const;
  /// Everything it has written so far.
  std::string output() const;

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> exit_code_;
};

/// The path of the visor under test (build/visor, or $VISOR_E2E_BINARY when set) and of the
/// test child.
std::string visor_binary();
std::string test_child_binary();

/// Polls `condition` every 10ms until it holds or `timeout` passes.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& content, int mode = 0644);
/// Writes `content` to `path` through a temporary file and a rename, as a chain or an operator
/// would: a reader sees the old or the new content, never a half-written file.
void replace_file(const std::string& path, const std::string& content);
std::vector<std::string> read_lines(const std::string& path);
/// Number of lines in `text` containing `needle`.
int count_occurrences(const std::string& text, const std::string& needle);
/// Writes an executable shell script that prints `version` for "version" and otherwise
/// execs the test child with its arguments (same pid); returns its path.
std::string make_versioned_child(const std::string& path, const std::string& version);
/// Writes a stand-in node binary (a shell script): `version` answers VERSION; anything else
/// runs `behaviour` (shell lines, e.g. "exit 1") and then execs the test child with the same
/// arguments plus "--print running-VERSION" (same pid). `padding` bytes of comment make it larger.
void write_stand_in(const std::string& path, const std::string& version,
                    const std::string& behaviour = "", std::size_t padding = 0);
/// "amd64" or "arm64", as release file names spell the host architecture.
std::string host_arch_name();
/// True when the last line of the test child's --argv-file is "running-VERSION".
bool argv_file_says_running(const std::string& argv_file, const std::string& version);

/// A free TCP port on 127.0.0.1.
int free_port();

/// A helper server (a Python script from tests/e2e/support) listening on 127.0.0.1.
struct Server {
  std::unique_ptr<Process> process;
  int port = 0;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};
/// Starts tests/e2e/support/<script> with `arguments`; waits for its "PORT <n>" line.
/// Throws std::runtime_error when it does not come up within 10 s.
Server start_server(const std::string& script, const std::vector<std::string>& arguments,
                    const std::string& log_path);
/// What a shell command printed and its exit status (-1 when it did not exit normally).
struct CommandResult {
  int status = -1;
  std::string output;
};
/// Runs `command` with /bin/sh (test tooling: curl, promtool, systemd-analyze, ...), stderr
/// merged into the output unless `merge_stderr` is false.
CommandResult run_command(const std::string& command, bool merge_stderr = true);

/// SHA-256 of a file, computed by coreutils' sha256sum (independent of visor's own code).
std::string sha256sum(const std::string& path);

/// An HTTP answer as a client on 127.0.0.1 saw it.
struct HttpReply {
  int status = 0;  ///< 0 when the connection failed or was closed without an answer
  std::string body;
};
/// A TCP connection to 127.0.0.1:`port`; -1 when it cannot be made.
int connect_to(int port);
/// Sends all of `text` on `fd`, or as much as the peer takes before it closes.
void send_all(int fd, const std::string& text);
/// Reads until the peer closes or `timeout` passes; `closed` says which.
std::string read_until_closed(int fd, std::chrono::milliseconds timeout, bool* closed);
/// GET `path` from 127.0.0.1:`port` (HTTP/1.1, Connection: close).
HttpReply http_get(int port, const std::string& path, std::chrono::milliseconds timeout = 3s);

/// A unix datagram socket standing in for systemd's NOTIFY_SOCKET.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path);
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  /// Every line received so far, one entry per "KEY=VALUE" (a datagram may carry several).
  const std::vector<std::string>& lines();
  int count(const std::string& line);
  int count_prefix(const std::string& prefix);
  bool has_prefix(const std::string& prefix);
  std::string all_text();

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<std::string> lines_;
};

}  // namespace visor::e2e
