// Test helper: runs tests/e2e/support/release_server.py as a child process for one test.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace visor::testing {

/// The server script, found next to this file in the source tree (or via $VISOR_SOURCE_DIR).
inline std::string release_server_script() {
  if (const char* source = ::getenv("VISOR_SOURCE_DIR")) {
    return std::string(source) + "/tests/e2e/support/release_server.py";
  }
  // The build passes the source tree: __FILE__ can be relative (ccache's base_dir rewrites it).
  return std::string(VISOR_SOURCE_DIR) + "/tests/e2e/support/release_server.py";
}

/// A fresh directory under the test temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = std::filesystem::temp_directory_path().string() + "/visor-fetch-XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// One running release_server.py. Start it with start(); it is stopped (SIGTERM) on destruction.
class ReleaseServer {
 public:
  /// Serves `directory` with the extra command-line `flags` (e.g. {"--drop-after", "1000"}),
  /// logging requests to `log_path`. Returns null and sets `error` when it does not come up
  /// within five seconds.
  static std::unique_ptr<ReleaseServer> start(const std::string& directory,
                                              const std::string& log_path,
                                              const std::vector<std::string>& flags,
                                              std::string& error) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
      error = "pipe2 failed";
      return nullptr;
    }
    std::vector<std::string> words = {
        "/usr/bin/python3", release_server_script(), "--dir", directory, "--log", log_path};
    words.insert(words.end(), flags.begin(), flags.end());
    const pid_t pid = ::fork();
    if (pid < 0) {
      error = "fork failed";
      return nullptr;
    }
    if (pid == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      std::vector<char*> argv;
      for (std::string& word : words) argv.push_back(word.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    std::unique_ptr<ReleaseServer> server(new ReleaseServer(pid, log_path));
    std::string line;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < give_up) {
      pollfd ready{out[0], POLLIN, 0};
      if (::poll(&ready, 1, 100) <= 0) continue;
      char buffer[128];
      const ssize_t got = ::read(out[0], buffer, sizeof buffer);
      if (got <= 0) break;
      line.append(buffer, static_cast<std::size_t>(got));
    }
    ::close(out[0]);
    if (line.rfind("PORT ", 0) == 0) {
      server->port_ = std::atoi(line.c_str() + 5);
    } else if (line.rfind("UNIX ", 0) != 0) {
      error = "release_server.py did not start (first line: \"" + line + "\")";
      return nullptr;
    }
    return server;
  }

  ~ReleaseServer() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }

  int port() const { return port_; }
  /// "http://127.0.0.1:<port>/<path>"
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/" + path;
  }
  /// The request log so far: one object per request (method, path, range).
  std::vector<nlohmann::json> requests() const {
    std::vector<nlohmann::json> lines;
    std::ifstream in(log_path_);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) lines.push_back(nlohmann::json::parse(line, nullptr, false));
    }
    return lines;
  }

 private:
  ReleaseServer(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  pid_t pid_;
  int port_ = 0;
  std::string log_path_;
};

/// Writes a self-signed certificate for 127.0.0.1 (cert.pem, key.pem) into `directory` with the
/// openssl command-line tool; false when that is not possible here.
inline bool make_self_signed_certificate(const std::string& directory) {
  const std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout '" +
      directory + "/key.pem' -out '" + directory + "/cert.pem' >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
inline std::string pseudo_random_bytes(std::size_t size,
                                       std::uint64_t seed = 88172645463325252ULL) {
  std::string bytes(size, '\0');
  std::uint64_t x = seed;
  for (std::size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    bytes[i] = static_cast<char>(x >> 24);
  }
  return bytes;
}

inline void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace visor::testing
