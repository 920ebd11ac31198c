// One visor per home: an flock() on <home>/visor.lock that holds the holder's pid.
#pragma once

#include <sys/types.h>

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

}  // namespace visor
