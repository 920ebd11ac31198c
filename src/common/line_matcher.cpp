#include "visor/common/line_matcher.h"

#include <re2/re2.h>

#include <algorithm>

namespace visor {

namespace {

RE2::Options pattern_options() {
  RE2::Options options;
  options.set_log_errors(false);    // errors are returned and reported once, at config time
  options.set_max_mem(8 << 20);     // a bounded program and DFA cache, whatever the pattern
  options.set_never_capture(true);  // only "does it match" is asked
  return options;
}

}  // namespace

std::string line_pattern_error(const std::string& pattern) {
  const RE2 compiled(pattern, pattern_options());
  return compiled.ok() ? std::string() : compiled.error();
}

LineMatcher::LineMatcher(const std::string& pattern)
    : pattern_(std::make_unique<RE2>(pattern, pattern_options())) {}

LineMatcher::~LineMatcher() = default;

bool LineMatcher::ok() const { return pattern_->ok(); }

void LineMatcher::reset() {
  line_.clear();
  skipping_ = false;
}

bool LineMatcher::scan_line() { return pattern_->ok() && RE2::PartialMatch(line_, *pattern_); }

bool LineMatcher::feed(std::string_view bytes) {
  bool seen = false;
  while (!bytes.empty()) {
    const std::size_t newline = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, newline);
    if (!skipping_) {
      line_.append(piece.data(), std::min(piece.size(), kMaxLine - line_.size()));
      if (line_.size() >= kMaxLine) {
        // Over-long: decide on its first kMaxLine bytes now and skip the rest of the line.
        if (!seen && scan_line()) seen = true;
        line_.clear();
        skipping_ = true;
      }
    }
    if (newline == std::string_view::npos) break;
    if (!skipping_ && !seen && scan_line()) seen = true;
    line_.clear();
    skipping_ = false;
    bytes.remove_prefix(newline + 1);
  }
  return seen;
}

}  // namespace visor
