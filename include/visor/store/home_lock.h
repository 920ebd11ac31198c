// Locks of a home. HomeLock: one visor per home, an flock() on <home>/visor.lock that holds the
// holder's pid for the visor's lifetime. StateLock: one writer of state.json at a time, an flock()
// on <home>/state.lock held for one read-merge-write (by visor and by `visor add-upgrade`).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

#include "visor/common/result.h"

namespace visor {

class HomeLock {
 public:
  /// Takes the lock without waiting. When another process holds it, the error names its pid.
  static Result<HomeLock> acquire(const std::string& home);
  /// The pid of the visor holding `home`, or nullopt when nobody holds it.
  static std::optional<pid_t> holder(const std::string& home);

  HomeLock(HomeLock&& other) noexcept;
  HomeLock& operator=(HomeLock&& other) noexcept;
  HomeLock(const HomeLock&) = delete;
  HomeLock& operator=(const HomeLock&) = delete;
  ~HomeLock();

 private:
  explicit HomeLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

/// Serialises the read-merge-writes of <home>/state.json: whoever holds it reads state.json,
/// merges what it changed into it and renames the new file in, so that no process overwrites
/// what another wrote since it last read (see "The binary store" in docs/design.md). Held for
/// that short work only, never across a download, a copy or a child's run.
class StateLock {
 public:
  /// How long acquire() waits by default: a holder is done in milliseconds (one small file
  /// read, written and fsynced); one stopped while holding it must not stall visor for longer.
  static constexpr std::chrono::milliseconds kPatience{5000};

  /// Takes the lock on <home>/state.lock (created when missing), waiting at most `patience`.
  /// The lock file must be a regular file: a symlink, a FIFO, a device or a folder in its place
  /// is an error naming it, never a hang and never a file opened elsewhere.
  static Result<StateLock> acquire(const std::string& home,
                                   std::chrono::milliseconds patience = kPatience);

  StateLock(StateLock&& other) noexcept;
  StateLock& operator=(StateLock&& other) noexcept;
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;
  /// Releases the lock.
  ~StateLock();

 private:
  explicit StateLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace visor
