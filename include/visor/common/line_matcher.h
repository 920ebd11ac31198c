// Matching a regular expression against the lines of a byte stream (a child's output), with
// time, stack and memory bounded whatever the stream holds.
//
// The engine is RE2: no backtracking, so matching is linear in the line and never recurses per
// character (std::regex does, and overflows the stack on one long line). A line is scanned when
// its newline arrives; a line longer than kMaxLine is scanned once, as its first kMaxLine
// bytes, and the rest of it, up to its newline, is skipped: memory stays at kMaxLine per stream.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace visor {

/// Why `pattern` is not a valid RE2 expression, or empty when it is.
std::string line_pattern_error(const std::string& pattern);

class LineMatcher {
 public:
  /// The longest part of one line that is scanned (and buffered).
  static constexpr std::size_t kMaxLine = 64 * 1024;

  /// Compiles `pattern` (RE2 syntax); check it first with line_pattern_error().
  explicit LineMatcher(const std::string& pattern);
  ~LineMatcher();
  LineMatcher(const LineMatcher&) = delete;
  LineMatcher& operator=(const LineMatcher&) = delete;

  /// True when the pattern compiled.
  bool ok() const;
  /// Feeds the next bytes of the stream; true when a line completed by them (or the capped
  /// prefix of an over-long line) matches the pattern.
  bool feed(std::string_view bytes);
  /// Forgets the line in progress (the stream is not being watched for a while).
  void reset();
  /// Bytes held for the line in progress (never above kMaxLine).
  std::size_t buffered() const { return line_.size(); }

 private:
  bool scan_line();

  std::unique_ptr<re2::RE2> pattern_;
  std::string line_;
  bool skipping_ = false;  ///< the current line was over-long and has been scanned already
};

}  // namespace visor
