#include "visor/common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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

Status copy_file_synced(const std::string& from, const std::string& to, int mode) {
  const int input = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (input < 0) return Status::failure("opening " + from + ": " + errno_text(errno));
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

Status read_chunks(
    const std::string& path, std::size_t chunk_size,
    const std::function<std::string(const char* data, std::size_t length)>& consume) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::failure("opening " + path + ": " + errno_text(errno));
  // Closed however the reading ends, also when `consume` throws (std::bad_alloc).
  const std::unique_ptr<const int, void (*)(const int*)> closer(
      &fd, [](const int* open_fd) { ::close(*open_fd); });
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

Result<std::string> read_small_file(const std::string& path, std::size_t max_bytes) {
  std::string content;
  const Status read = read_chunks(path, 16384, [&](const char* data, std::size_t length) {
    content.append(data, length);
    return content.size() > max_bytes ? "larger than " + std::to_string(max_bytes) + " bytes"
                                      : std::string();
  });
  if (!read) return read;
  return content;
}

}  // namespace visor
