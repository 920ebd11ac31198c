#include "visor/config/duration.h"

#include <cctype>
#include <utility>

namespace visor {
namespace {

constexpr long long kMaxMilliseconds = 100LL * 24 * 3600 * 1000;

bool fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text, std::string* error) {
  const std::string original(text);
  if (text == "0") return Duration(0);
  if (text.empty()) {
    fail(error, "empty duration (expected e.g. 500ms, 2s, 5m, 1h)");
    return std::nullopt;
  }
  long long total = 0;
  size_t position = 0;
  while (position < text.size()) {
    const size_t digits_start = position;
    while (position < text.size() && std::isdigit(static_cast<unsigned char>(text[position]))) {
      ++position;
    }
    if (position == digits_start || position - digits_start > 12) {
      fail(error, "invalid duration '" + original + "' (expected e.g. 500ms, 2s, 5m, 1h)");
      return std::nullopt;
    }
    const long long number =
        std::stoll(std::string(text.substr(digits_start, position - digits_start)));
    long long unit_ms = 0;
    if (text.substr(position, 2) == "ms") {
      unit_ms = 1;
      position += 2;
    } else if (position < text.size() && text[position] == 's') {
      unit_ms = 1000;
      position += 1;
    } else if (position < text.size() && text[position] == 'm') {
      unit_ms = 60 * 1000;
      position += 1;
    } else if (position < text.size() && text[position] == 'h') {
      unit_ms = 3600 * 1000;
      position += 1;
    } else {
      fail(error, "invalid duration '" + original + "': missing or unknown unit (ms, s, m, h)");
      return std::nullopt;
    }
    if (number > kMaxMilliseconds / unit_ms) {
      fail(error, "duration '" + original + "' is too long (at most 100 days)");
      return std::nullopt;
    }
    total += number * unit_ms;
    if (total > kMaxMilliseconds) {
      fail(error, "duration '" + original + "' is too long (at most 100 days)");
      return std::nullopt;
    }
  }
  return Duration(total);
}

std::string format_duration(Duration duration) {
  // Exact parts, largest first, so that parse_duration reads back the same value.
  long long ms = duration.count();
  if (ms <= 0) return "0s";
  std::string text;
  for (const auto& [unit, size] :
       {std::pair<const char*, long long>{"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}}) {
    if (ms >= size) {
      text += std::to_string(ms / size) + unit;
      ms %= size;
    }
  }
  return text;
}

}  // namespace visor
