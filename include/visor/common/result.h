// Result types for the running daemon: failures are values that say what failed and why.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace visor {

/// The outcome of an operation without a value: ok, or an error message naming the
/// operation, the object and the cause.
class Status {
 public:
  Status() = default;
  /// A failed status; `message` must not be empty.
  static Status failure(std::string message) { return Status(std::move(message)); }
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const std::string& error() const { return message_; }

 private:
  explicit Status(std::string message) : failed_(true), message_(std::move(message)) {}
  bool failed_ = false;
  std::string message_;
};

/// The outcome of an operation that yields a T: either the value or an error message.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}             // NOLINT(google-explicit-constructor)
  Result(const Status& status) : error_(status.error()) {}  // NOLINT(google-explicit-constructor)
  static Result failure(std::string message) { return Result(Status::failure(std::move(message))); }
  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  const T& value() const& { return *value_; }
  T& value() & { return *value_; }
  T&& value() && { return std::move(*value_); }
  const T& operator*() const { return *value_; }
  const T* operator->() const { return &*value_; }
  const std::string& error() const { return error_; }

 private:
  std::optional<T> value_;
  std::string error_;
};

/// `strerror(errno)` for the given error number, as a std::string.
std::string errno_text(int error_number);

}  // namespace visor
