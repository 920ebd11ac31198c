#include "e2e_util.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace visor::e2e {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/visor-e2e-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (!mkdtemp(buffer.data())) throw std::runtime_error("mkdtemp failed");
  path_ = buffer.data();
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

Process::Process(const std::vector<std::string>& argv, const std::string& log_path,
                 const std::map<std::string, std::string>& environment,
                 const std::vector<std::string>& unset)
    : log_path_(log_path) {
  std::map<std::string, std::string> merged;
  for (char** entry = environ; *entry; ++entry) {
    const std::string text = *entry;
    const auto equals = text.find('=');
    if (equals != std::string::npos) merged[text.substr(0, equals)] = text.substr(equals + 1);
  }
  for (const auto& name : unset) merged.erase(name);
  for (const auto& [name, value] : environment) merged[name] = value;
  std::vector<std::string> environment_text;
  for (const auto& [name, value] : merged) environment_text.push_back(name + "=" + value);
  std::vector<char*> environment_pointers;
  for (auto& text : environment_text) environment_pointers.push_back(text.data());
  environment_pointers.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  std::vector<char*> argv_pointers;
  for (auto& word : argv_copy) argv_pointers.push_back(word.data());
  argv_pointers.push_back(nullptr);

  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot open " + log_path);
  pid_ = fork();
  if (pid_ == 0) {
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    const int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, 0);
    execve(argv_pointers[0], argv_pointers.data(), environment_pointers.data());
    _exit(127);
  }
  close(log_fd);
}

Process::~Process() {
  if (pid_ > 0 && !exit_code_) {
    // A graceful stop first, so that a visor under test stops its child too.
    ::kill(pid_, SIGTERM);
    if (!wait(5s)) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
}

namespace {

// Makes the test binary a subreaper, so that whatever a test leaves behind (the child of a
// visor killed with SIGKILL, say) is reparented to it; after every test those leftovers are
// killed and reaped, so no test leaks processes into the next one or onto the machine.
class LeftoverSweeper : public ::testing::EmptyTestEventListener {
 public:
  LeftoverSweeper() { prctl(PR_SET_CHILD_SUBREAPER, 1); }
  void OnTestEnd(const ::testing::TestInfo&) override {
    const std::string path = "/proc/self/task/" + std::to_string(getpid()) + "/children";
    std::ifstream children(path);
    pid_t pid;
    std::vector<pid_t> leftovers;
    while (children >> pid) leftovers.push_back(pid);
    for (const pid_t leftover : leftovers) {
      ::kill(-leftover, SIGKILL);
      ::kill(leftover, SIGKILL);
    }
    for (const pid_t leftover : leftovers) waitpid(leftover, nullptr, 0);
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }
};

const bool kSweeperInstalled = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new LeftoverSweeper);
  return true;
}();

}  // namespace

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exit_code_ = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
}

bool Process::running() { return !wait(0ms).has_value(); }

void Process::signal(int signal_number) const { ::kill(pid_, signal_number); }

std::string Process::output() const { return read_file(log_path_); }

std::string visor_binary() {
  // VISOR_E2E_BINARY runs the suite against another build of visor (an older commit, an
  // installed package); by default, the build/visor of this tree.
  const char* chosen = std::getenv("VISOR_E2E_BINARY");
  return chosen && *chosen ? chosen : VISOR_BINARY;
}
std::string test_child_binary() { return VISOR_TEST_CHILD; }

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

std::string read_file(const std::string& path) {
  // read(2), not a stream: a /proc file of a process that exits while it is read fails with
  // ESRCH, which libstdc++'s filebuf turns into an exception; here it is what was read so far.
  std::string text;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char buffer[8192];
  ssize_t got;
  while ((got = ::read(fd, buffer, sizeof buffer)) > 0)
    text.append(buffer, static_cast<std::size_t>(got));
  ::close(fd);
  return text;
}

void write_file(const std::string& path, const std::string& content, int mode) {
  // O_CLOEXEC (std::ofstream has none): a test that starts processes from another thread
  // meanwhile must not hand them this file open for writing, for as long as they run; a stand-in
  // binary held open so cannot be executed ("Text file busy").
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;  // as an ofstream that cannot open: the test's own checks fail
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t done = ::write(fd, content.data() + written, content.size() - written);
    if (done < 0 && errno == EINTR) continue;
    if (done <= 0) break;
    written += static_cast<std::size_t>(done);
  }
  ::close(fd);
  std::filesystem::permissions(path, static_cast<std::filesystem::perms>(mode));
}

void replace_file(const std::string& path, const std::string& content) {
  write_file(path + ".tmp", content);
  std::filesystem::rename(path + ".tmp", path);
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream input(path);
  std::string line;
  while (std::getline(input, line)) lines.push_back(line);
  return lines;
}

int count_occurrences(const std::string& text, const std::string& needle) {
  int count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++count;
  return count;
}

std::string make_versioned_child(const std::string& path, const std::string& version) {
  write_file(path,
             "#!/bin/sh\n"
             "if [ \"$1\" = version ]; then echo '" +
                 version +
                 "'; exit 0; fi\n"
                 "exec '" +
                 test_child_binary() + "' \"$@\"\n",
             0755);
  return path;
}

void write_stand_in(const std::string& path, const std::string& version,
                    const std::string& behaviour, std::size_t padding) {
  std::string script =
      "#!/bin/sh\n"
      "if [ \"$1\" = version ]; then echo '" +
      version + "'; exit 0; fi\n" + behaviour + "\n" + "exec '" + test_child_binary() +
      "' \"$@\" --print running-" + version + "\n";
  if (padding > 0) script += "exit 0\n# " + std::string(padding, 'x') + "\n";
  write_file(path, script, 0755);
}

std::string host_arch_name() {
#if defined(__aarch64__)
  return "arm64";
#else
  return "amd64";
#endif
}

bool argv_file_says_running(const std::string& argv_file, const std::string& version) {
  const auto lines = read_lines(argv_file);
  return !lines.empty() && lines.back() == "running-" + version;
}

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const int port = ntohs(address.sin_port);
  close(fd);
  return port;
}

Server start_server(const std::string& script, const std::vector<std::string>& arguments,
                    const std::string& log_path) {
  std::vector<std::string> argv{"/usr/bin/python3",
                                std::string(VISOR_SOURCE_DIR) + "/tests/e2e/support/" + script};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  Server server;
  server.process = std::make_unique<Process>(argv, log_path);
  const bool up = wait_until(
      [&] {
        const std::string text = read_file(log_path);
        const auto at = text.find("PORT ");
        if (at == std::string::npos) return false;
        const auto end = text.find('\n', at);
        if (end == std::string::npos) return false;
        server.port = std::stoi(text.substr(at + 5, end - at - 5));
        return true;
      },
      10s);
  if (!up) throw std::runtime_error(script + " did not start: " + read_file(log_path));
  return server;
}

CommandResult run_command(const std::string& command, bool merge_stderr) {
  CommandResult result;
  FILE* pipe = ::popen((merge_stderr ? command + " 2>&1" : command).c_str(), "r");
  if (!pipe) return result;
  char buffer[4096];
  std::size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, got);
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string sha256sum(const std::string& path) {
  return run_command("sha256sum '" + path + "'", false).output.substr(0, 64);
}

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void send_all(int fd, const std::string& text) {
  std::size_t sent = 0;
  while (sent < text.size()) {
    const ssize_t result = ::send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
    if (result <= 0) return;  // visor may close first; the test looks at what comes back
    sent += static_cast<std::size_t>(result);
  }
}

std::string read_until_closed(int fd, std::chrono::milliseconds timeout, bool* closed) {
  std::string text;
  *closed = false;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return text;
    pollfd ready{fd, POLLIN, 0};
    if (::poll(&ready, 1, static_cast<int>(left.count())) <= 0) return text;
    char buffer[8192];
    const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got <= 0) {
      *closed = true;
      return text;
    }
    text.append(buffer, static_cast<std::size_t>(got));
  }
}

HttpReply http_get(int port, const std::string& path, std::chrono::milliseconds timeout) {
  HttpReply reply;
  const int fd = connect_to(port);
  if (fd < 0) return reply;
  send_all(fd, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  bool closed = false;
  const std::string text = read_until_closed(fd, timeout, &closed);
  ::close(fd);
  if (text.rfind("HTTP/1.1 ", 0) != 0 || text.size() < 12) return reply;
  reply.status = std::stoi(text.substr(9, 3));
  const auto body = text.find("\r\n\r\n");
  if (body != std::string::npos) reply.body = text.substr(body + 4);
  return reply;
}

NotifySocket::NotifySocket(const std::string& path) : path_(path) {
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path)
    throw std::runtime_error("socket path too long: " + path);
  std::copy(path.begin(), path.end(), address.sun_path);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error("bind " + path + " failed");
  }
}

NotifySocket::~NotifySocket() {
  ::close(fd_);
  ::unlink(path_.c_str());
}

const std::vector<std::string>& NotifySocket::lines() {
  char buffer[4096];
  ssize_t got;
  while ((got = ::recv(fd_, buffer, sizeof buffer, 0)) > 0) {
    std::istringstream datagram(std::string(buffer, static_cast<std::size_t>(got)));
    std::string line;
    while (std::getline(datagram, line)) lines_.push_back(line);
  }
  return lines_;
}

int NotifySocket::count(const std::string& line) {
  const auto& all = lines();
  return static_cast<int>(std::count(all.begin(), all.end(), line));
}

int NotifySocket::count_prefix(const std::string& prefix) {
  const auto& all = lines();
  return static_cast<int>(std::count_if(
      all.begin(), all.end(), [&](const std::string& line) { return line.rfind(prefix, 0) == 0; }));
}

bool NotifySocket::has_prefix(const std::string& prefix) {
  const auto& all = lines();
  return std::any_of(all.begin(), all.end(),
                     [&](const std::string& line) { return line.rfind(prefix, 0) == 0; });
}

std::string NotifySocket::all_text() {
  std::string text;
  for (const auto& line : lines()) text += line + "\n";
  return text;
}

}  // namespace visor::e2e
