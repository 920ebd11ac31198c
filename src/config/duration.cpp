#include "visor/config/duration.h"

#include <cctype>
#include <cstdio>

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
    const long long number = std::stoll(std::string(text.substr(digits_start, position - digits_start)));
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
  const long long ms = duration.count();
  char buffer[48];
  if (ms % 3600000 == 0 && ms >= 3600000) {
    std::snprintf(buffer, sizeof buffer, "%lldh", ms / 3600000);
  } else if (ms % 60000 == 0 && ms >= 60000) {
    std::snprintf(buffer, sizeof buffer, "%lldm", ms / 60000);
  } else if (ms % 1000 == 0) {
    std::snprintf(buffer, sizeof buffer, "%llds", ms / 1000);
  } else if (ms >= 1000) {
    std::snprintf(buffer, sizeof buffer, "%.3gs", static_cast<double>(ms) / 1000.0);
  } else {
    std::snprintf(buffer, sizeof buffer, "%lldms", ms);
  }
  return buffer;
}

}  // namespace visor
