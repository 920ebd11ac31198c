// SHA-256 on OpenSSL's EVP interface, streaming so that any size hashes in flat memory.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "visor/common/result.h"

namespace visor {

/// Incremental SHA-256: update() any number of times, then hex_digest() once.
class Sha256 {
 public:
  /// Starts an empty digest. Allocation failure inside OpenSSL aborts (as for any out-of-memory).
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  /// Adds `length` bytes at `data` to the digest.
  void update(const void* data, std::size_t length);
  /// Finishes and returns 64 lower-case hex digits. Call once; after it the object is reset
  /// to an empty digest and may be reused.
  std::string hex_digest();
  /// Forgets everything added so far.
  void reset();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

/// The lower-case hex SHA-256 of the file at `path`, read in fixed-size blocks.
/// Errors name the path and strerror, e.g. "reading /x: Permission denied".
Result<std::string> sha256_file(const std::string& path);

/// True when `left` and `right` are the same digest (hex, either case) and not empty.
bool same_sha256(const std::string& left, const std::string& right);

/// True when `text` is exactly 64 hex digits (either case).
bool is_sha256_hex(const std::string& text);

}  // namespace visor
