#include "visor/common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

namespace visor {
namespace {

std::string parent_of(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

std::string temporary_name(const std::string& path) {
  return path + ".tmp-" + std::to_string(::getpid());
}

Status write_all(int fd, const char* data, std::size_t length, const std::string& path) {
  while (length > 0) {
    const ssize_t written = ::write(fd, data, length);
    if (written < 0) {
      if (errno == EINTR) continue;
      return Status::failure("writing " + path + ": " + errno_text(errno));
    }
    data += written;
    length -= static_cast<std::size_t>(written);
  }
  return {};
}

Status write_and_rename(const std::string& path, const std::string& content, int mode,
                        bool durable) {
  const std::string temporary = temporary_name(path);
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::failure("creating " + temporary + ": " + errno_text(errno));
  Status status = write_all(fd, content.data(), content.size(), temporary);
  if (durable && status && ::fsync(fd) != 0) {
    status = Status::failure("fsync of " + temporary + ": " + errno_text(errno));
  }
  if (::close(fd) != 0 && status)
    status = Status::failure("closing " + temporary + ": " + errno_text(errno));
  if (status && ::rename(temporary.c_str(), path.c_str()) != 0) {
    status = Status::failure("renaming " + temporary + " to " + path + ": " + errno_text(errno));
  }
  if (!status) {
    ::unlink(temporary.c_str());
    return status;
  }
  return durable ? fsync_directory(parent_of(path)) : Status();
}

std::string file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a file";
}

// The reading loop of read_chunks and read_small_file; a file whose size is already above
// `max_bytes` is refused before any of it is read.
Status read_chunks_from(
    const std::string& path, std::size_t chunk_size,
    const std::function<std::string(const char* data, std::size_t length)>& consume, bool* missing,
    std::size_t max_bytes = static_cast<std::size_t>(-1)) {
  auto opened = open_regular_file(path, O_RDONLY, 0, missing);
  if (!opened) return Status::failure(opened.error());
  const int fd = *opened;
  // Closed however the reading ends, also when `consume` throws (std::bad_alloc).
  const std::unique_ptr<const int, void (*)(const int*)> closer(
      &fd, [](const int* open_fd) { ::close(*open_fd); });
  struct stat info {};
  if (::fstat(fd, &info) == 0 && static_cast<std::uint64_t>(info.st_size) > max_bytes) {
    return Status::failure(path + ": larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::vector<char> buffer(chunk_size > 0 ? chunk_size : 1);
  Status status;
  while (true) {
    const ssize_t got = ::read(fd, buffer.data(), buffer.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      status = Status::failure("reading " + path + ": " + errno_text(errno));
      break;
    }
    if (got == 0) break;
    const std::string stop = consume(buffer.data(), static_cast<std::size_t>(got));
    if (!stop.empty()) {
      status = Status::failure("reading " + path + ": " + stop);
      break;
    }
  }
  return status;
}

}  // namespace

Status fsync_directory(const std::string& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::failure("opening directory " + directory + ": " + errno_text(errno));
  const int result = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (result != 0)
    return Status::failure("fsync of directory " + directory + ": " + errno_text(error));
  return {};
}

Status write_file_atomic(const std::string& path, const std::string& content, int mode) {
  return write_and_rename(path, content, mode, true);
}

Status replace_file(const std::string& path, const std::string& content, int mode) {
  return write_and_rename(path, content, mode, false);
}

Status make_real_directory(const std::string& path, int mode) {
  if (::mkdir(path.c_str(), static_cast<mode_t>(mode)) == 0) return {};
  const int error = errno;
  if (error != EEXIST) return Status::failure("creating " + path + ": " + errno_text(error));
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    return Status::failure("checking " + path + ": " + errno_text(errno));
  }
  if (S_ISLNK(info.st_mode)) {
    return Status::failure(path + " is a symlink; visor writes only into real folders there (to " +
                           "keep the store on another disk, link or move the whole home)");
  }
  if (!S_ISDIR(info.st_mode)) return Status::failure(path + " exists and is not a folder");
  return {};
}

Status copy_file_synced(const std::string& from, const std::string& to, int mode) {
  auto opened = open_regular_file(from);
  if (!opened) return Status::failure(opened.error());
  const int input = *opened;
  const int output = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (output < 0) {
    const int error = errno;
    ::close(input);
    return Status::failure("creating " + to + ": " + errno_text(error));
  }
  std::vector<char> buffer(256 * 1024);
  Status status;
  while (status) {
    const ssize_t got = ::read(input, buffer.data(), buffer.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      status = Status::failure("reading " + from + ": " + errno_text(errno));
      break;
    }
    if (got == 0) break;
    status = write_all(output, buffer.data(), static_cast<std::size_t>(got), to);
  }
  if (status && ::fchmod(output, static_cast<mode_t>(mode)) != 0) {
    status = Status::failure("chmod of " + to + ": " + errno_text(errno));
  }
  if (status && ::fsync(output) != 0)
    status = Status::failure("fsync of " + to + ": " + errno_text(errno));
  ::close(input);
  if (::close(output) != 0 && status)
    status = Status::failure("closing " + to + ": " + errno_text(errno));
  if (!status) ::unlink(to.c_str());
  return status;
}

Status replace_symlink(const std::string& target, const std::string& link) {
  const std::string temporary = temporary_name(link);
  ::unlink(temporary.c_str());
  if (::symlink(target.c_str(), temporary.c_str()) != 0) {
    return Status::failure("creating symlink " + temporary + ": " + errno_text(errno));
  }
  if (::rename(temporary.c_str(), link.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    return Status::failure("renaming symlink " + temporary + " to " + link + ": " +
                           errno_text(error));
  }
  return fsync_directory(parent_of(link));
}

Result<int> open_regular_file(const std::string& path, int flags, int mode, bool* missing) {
  if (missing) *missing = false;
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, mode);
  if (fd < 0) {
    const int error = errno;
    if (missing) *missing = error == ENOENT || error == ENOTDIR;
    return Result<int>::failure("opening " + path + ": " + errno_text(error));
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const int error = errno;
    ::close(fd);
    return Result<int>::failure("fstat of " + path + ": " + errno_text(error));
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return Result<int>::failure(path + " is not a regular file (" + file_kind(info.st_mode) + ")");
  }
  // A regular file never blocks; clearing the flag keeps reads and writes ordinary.
  const int status_flags = ::fcntl(fd, F_GETFL);
  if (status_flags >= 0) ::fcntl(fd, F_SETFL, status_flags & ~O_NONBLOCK);
  return fd;
}

Status read_chunks(
    const std::string& path, std::size_t chunk_size,
    const std::function<std::string(const char* data, std::size_t length)>& consume) {
  return read_chunks_from(path, chunk_size, consume, nullptr);
}

Result<std::string> read_small_file(const std::string& path, std::size_t max_bytes, bool* missing) {
  std::string content;
  const std::string too_large = "larger than " + std::to_string(max_bytes) + " bytes";
  const Status read = read_chunks_from(
      path, 16384,
      [&](const char* data, std::size_t length) {
        content.append(data, length);
        return content.size() > max_bytes ? too_large : std::string();
      },
      missing, max_bytes);
  if (!read) return read;
  return content;
}

}  // namespace visor
