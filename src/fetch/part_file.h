// Private to src/fetch: the "<destination>.part" file of a download, hashed as it grows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "visor/common/result.h"
#include "visor/common/sha256.h"

namespace visor::fetch_detail {

/// Appends through a fixed buffer and keeps the SHA-256 of everything appended, so the file
/// is written and hashed in one pass without ever holding it in memory.
class PartFile {
 public:
  /// Opens `path` (created 0644 when missing) and hashes what it already holds, so that a
  /// download can continue where an earlier one stopped. Holds an exclusive flock() on it
  /// while open: a second concurrent download into the same path is refused.
  static Result<PartFile> open(const std::string& path);

  PartFile(PartFile&& other) noexcept;
  PartFile& operator=(PartFile&&) = delete;
  PartFile(const PartFile&) = delete;
  PartFile& operator=(const PartFile&) = delete;
  ~PartFile();

  const std::string& path() const { return path_; }
  /// Bytes held so far, on disk plus buffered.
  std::uint64_t size() const { return written_ + buffer_.size(); }
  /// Adds bytes at the end. On failure the status says "writing <path>: <cause>" and
  /// last_errno() tells the cause.
  Status append(const char* data, std::size_t length);
  /// Writes the buffer out (done before every retry so that the disk matches size()).
  Status flush();
  /// Empties the file and the hash: the next bytes start the artifact again.
  Status restart();
  /// The SHA-256 of everything appended since opening or restart(). Flushes first.
  Result<std::string> finish_digest();
  /// fsync, close and rename into `destination` (then fsync its directory).
  Status commit(const std::string& destination);
  /// Closes and deletes the file (best effort: it is only ever a leftover).
  void remove();
  int last_errno() const { return last_errno_; }

 private:
  PartFile(std::string path, int fd);
  void start_writeback();

  std::string path_;
  int fd_ = -1;
  std::uint64_t written_ = 0;
  std::uint64_t writeback_from_ = 0;  ///< bytes before this were handed to sync_file_range
  std::vector<char> buffer_;
  Sha256 hash_;
  int last_errno_ = 0;
};

}  // namespace visor::fetch_detail
