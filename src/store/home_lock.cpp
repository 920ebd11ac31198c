#include "visor/store/home_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

#include "visor/common/files.h"

namespace visor {
namespace {

std::optional<pid_t> read_pid(int fd) {
  char buffer[32] = {};
  const ssize_t got = ::pread(fd, buffer, sizeof buffer - 1, 0);
  if (got <= 0) return std::nullopt;
  try {
    return static_cast<pid_t>(std::stol(buffer));
  } catch (...) {
    return std::nullopt;
  }
}

// Opens (creating it when missing) a lock file of the home: a regular file only, opened without
// blocking (a FIFO put there is an error, never a hang) and never through a symbolic link (a
// link put there must not lead visor to lock, let alone truncate, a file elsewhere).
Result<int> open_lock_file(const std::string& path, int access) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) == 0 && S_ISLNK(info.st_mode)) {
    return Result<int>::failure("cannot open lock file: " + path +
                                " is a symbolic link; a lock file must be a regular file "
                                "(remove it)");
  }
  // O_NOFOLLOW as well: a link put there after the lstat fails to open instead of being followed.
  auto opened = open_regular_file(path, access | O_CREAT | O_NOFOLLOW, 0644);
  if (!opened) return Result<int>::failure("cannot open lock file: " + opened.error());
  return opened;
}

}  // namespace

Result<HomeLock> HomeLock::acquire(const std::string& home) {
  const std::string path = home + "/visor.lock";
  auto opened = open_lock_file(path, O_RDWR);
  if (!opened) return Result<HomeLock>::failure(opened.error());
  const int fd = *opened;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const auto pid = read_pid(fd);
    ::close(fd);
    if (error == EWOULDBLOCK) {
      return Result<HomeLock>::failure(
          "home " + home + " is in use by another visor" +
          (pid ? " (pid " + std::to_string(*pid) + ")" : std::string()) +
          "; one visor per home (lock file " + path + ")");
    }
    return Result<HomeLock>::failure("cannot lock " + path + ": " + errno_text(error));
  }
  const std::string pid_text = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid_text.data(), pid_text.size(), 0) != static_cast<ssize_t>(pid_text.size())) {
    const int error = errno;
    ::close(fd);
    return Result<HomeLock>::failure("cannot write lock file " + path + ": " + errno_text(error));
  }
  return HomeLock(fd);
}

std::optional<pid_t> HomeLock::holder(const std::string& home) {
  const std::string path = home + "/visor.lock";
  auto opened = open_regular_file(path, O_RDONLY | O_NOFOLLOW);
  if (!opened) return std::nullopt;
  const int fd = *opened;
  std::optional<pid_t> pid;
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
    pid = read_pid(fd);
    if (!pid) pid = 0;
  }
  ::close(fd);
  return pid;
}

HomeLock::HomeLock(HomeLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

HomeLock& HomeLock::operator=(HomeLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

HomeLock::~HomeLock() {
  if (fd_ >= 0) ::close(fd_);
}

Result<StateLock> StateLock::acquire(const std::string& home, std::chrono::milliseconds patience) {
  const std::string path = home + "/state.lock";
  auto opened = open_lock_file(path, O_RDONLY);  // read-only is enough for flock()
  if (!opened) return Result<StateLock>::failure(opened.error());
  StateLock lock(*opened);
  const auto deadline = std::chrono::steady_clock::now() + patience;
  // Without waiting, again and again until the deadline: a blocking flock() would wait for as
  // long as a stopped holder stays stopped.
  while (::flock(lock.fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    if (error == EINTR) continue;
    if (error != EWOULDBLOCK) {
      return Result<StateLock>::failure("cannot lock " + path + ": " + errno_text(error));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Result<StateLock>::failure("state.json is being written by another process: " + path +
                                        " has been locked for " + std::to_string(patience.count()) +
                                        " ms; try again");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return lock;
}

StateLock::StateLock(StateLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

StateLock& StateLock::operator=(StateLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

StateLock::~StateLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the only descriptor releases the flock
}

}  // namespace visor
