#include "part_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "file_io.h"

namespace visor::fetch_detail {

Result<PartFile> PartFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Result<PartFile>::failure("opening " + path + ": " + errno_text(errno));
  PartFile part(path, fd);
  // Two downloads into one .part would interleave their bytes; the lock goes with the fd.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Result<PartFile>::failure(path + " is being written by another download");
    }
    return Result<PartFile>::failure("locking " + path + ": " + errno_text(errno));
  }
  std::vector<char> block(kIoBufferSize);
  for (;;) {
    const ssize_t got = ::pread(fd, block.data(), block.size(), static_cast<off_t>(part.written_));
    if (got < 0) {
      if (errno == EINTR) continue;
      return Result<PartFile>::failure("reading " + path + ": " + errno_text(errno));
    }
    if (got == 0) break;
    part.hash_.update(block.data(), static_cast<std::size_t>(got));
    part.written_ += static_cast<std::uint64_t>(got);
  }
  return part;
}

PartFile::PartFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {
  buffer_.reserve(kIoBufferSize);
}

PartFile::PartFile(PartFile&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      written_(other.written_),
      writeback_from_(other.writeback_from_),
      buffer_(std::move(other.buffer_)),
      hash_(std::move(other.hash_)),
      last_errno_(other.last_errno_) {}

PartFile::~PartFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status PartFile::append(const char* data, std::size_t length) {
  if (fd_ < 0) return Status::failure("writing " + path_ + ": file is closed");
  hash_.update(data, length);
  if (buffer_.size() + length > kIoBufferSize) {
    if (Status flushed = flush(); !flushed) return flushed;
  }
  if (length >= kIoBufferSize) {  // a big block goes straight to the file, no copy
    Status wrote = write_all_at(fd_, data, length, written_, path_, last_errno_);
    if (wrote) {
      written_ += length;
      start_writeback();
    }
    return wrote;
  }
  buffer_.insert(buffer_.end(), data, data + length);
  return Status();
}

Status PartFile::flush() {
  if (buffer_.empty()) return Status();
  Status wrote = write_all_at(fd_, buffer_.data(), buffer_.size(), written_, path_, last_errno_);
  if (!wrote) return wrote;
  written_ += buffer_.size();
  buffer_.clear();
  start_writeback();
  return Status();
}

// Asks the kernel to start writing finished stretches to disk now, while more arrives, so
// that the fsync before the rename has little left to do and dirty pages stay few.
// Only a hint: when it fails, the final fsync still does all the work.
void PartFile::start_writeback() {
  constexpr std::uint64_t kStretch = 8 << 20;
  if (written_ < writeback_from_ + kStretch) return;
  (void)::sync_file_range(fd_, static_cast<off_t>(writeback_from_),
                          static_cast<off_t>(written_ - writeback_from_), SYNC_FILE_RANGE_WRITE);
  writeback_from_ = written_;
}

Status PartFile::restart() {
  buffer_.clear();
  hash_.reset();
  written_ = 0;
  writeback_from_ = 0;
  if (::ftruncate(fd_, 0) != 0) {
    last_errno_ = errno;
    return Status::failure("truncating " + path_ + ": " + errno_text(last_errno_));
  }
  return Status();
}

Result<std::string> PartFile::finish_digest() {
  if (Status flushed = flush(); !flushed) return flushed;
  return hash_.hex_digest();
}

Status PartFile::commit(const std::string& destination) {
  if (Status flushed = flush(); !flushed) return flushed;
  return commit_file(std::exchange(fd_, -1), path_, destination);
}

void PartFile::remove() {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  buffer_.clear();
  ::unlink(path_.c_str());  // best effort: a leftover .part is only wasted space
}

}  // namespace visor::fetch_detail
