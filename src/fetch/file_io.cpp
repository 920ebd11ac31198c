#include "file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>

namespace visor::fetch_detail {

Status write_all_at(int fd, const void* data, std::size_t length, std::uint64_t offset,
                    const std::string& path, int& error_number) {
  const char* bytes = static_cast<const char*>(data);
  while (length > 0) {
    const ssize_t wrote = ::pwrite(fd, bytes, length, static_cast<off_t>(offset));
    if (wrote < 0) {
      if (errno == EINTR) continue;
      error_number = errno;
      return Status::failure("writing " + path + ": " + errno_text(error_number));
    }
    bytes += wrote;
    length -= static_cast<std::size_t>(wrote);
    offset += static_cast<std::uint64_t>(wrote);
  }
  return Status();
}

Status fsync_parent_directory(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  const std::string directory =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::failure("opening directory " + directory + ": " + errno_text(errno));
  // Some filesystems cannot sync a directory (EINVAL); the rename is then as durable as it gets.
  if (::fsync(fd) != 0 && errno != EINVAL) {
    const int error = errno;
    ::close(fd);
    return Status::failure("syncing directory " + directory + ": " + errno_text(error));
  }
  ::close(fd);
  return Status();
}

Status commit_file(int fd, const std::string& from, const std::string& to) {
  if (::fsync(fd) != 0) {
    const int error = errno;
    ::close(fd);
    return Status::failure("syncing " + from + ": " + errno_text(error));
  }
  if (::close(fd) != 0) return Status::failure("closing " + from + ": " + errno_text(errno));
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return Status::failure("renaming " + from + " to " + to + ": " + errno_text(errno));
  }
  return fsync_parent_directory(to);
}

bool is_disk_full(int error_number) {
  return error_number == ENOSPC || error_number == EDQUOT || error_number == EFBIG;
}

}  // namespace visor::fetch_detail
