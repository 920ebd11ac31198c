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

// Both syntaxes: visor's, and with `fractions` also Go's decimal fractions ("1.5s").
std::optional<Duration> parse_parts(std::string_view text, std::string* error, bool fractions) {
  const std::string original(text);
  if (text == "0") return Duration(0);
  if (text.empty()) {
    fail(error, "empty duration (expected e.g. 500ms, 2s, 5m, 1h)");
    return std::nullopt;
  }
  long long total = 0;
  size_t position = 0;
  while (position < text.size()) {
    // A whole number, or a decimal fraction as Go's time.ParseDuration takes it ("1.5s", ".5m":
    // Cosmovisor's DAEMON_* durations are Go durations).
    const size_t digits_start = position;
    while (position < text.size() && std::isdigit(static_cast<unsigned char>(text[position]))) {
      ++position;
    }
    const size_t digits_end = position;
    size_t fraction_start = position;
    if (fractions && position < text.size() && text[position] == '.') {
      fraction_start = ++position;
      while (position < text.size() && std::isdigit(static_cast<unsigned char>(text[position]))) {
        ++position;
      }
    }
    const size_t fraction_digits = position - fraction_start;
    if ((digits_end == digits_start && fraction_digits == 0) || digits_end - digits_start > 12 ||
        fraction_digits > 9) {
      fail(error, "invalid duration '" + original + "' (expected e.g. 500ms, 2s, 5m, 1h)");
      return std::nullopt;
    }
    const long long number =
        digits_end == digits_start
            ? 0
            : std::stoll(std::string(text.substr(digits_start, digits_end - digits_start)));
    const long long fraction =
        fraction_digits == 0
            ? 0
            : std::stoll(std::string(text.substr(fraction_start, fraction_digits)));
    long long fraction_scale = 1;
    for (size_t digit = 0; digit < fraction_digits; ++digit) fraction_scale *= 10;
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
    // The fraction's part, truncated to whole milliseconds (fraction < scale <= 10^9, unit_ms <=
    // 3.6e6: the product fits in 64 bits).
    total += number * unit_ms + fraction * unit_ms / fraction_scale;
    if (total > kMaxMilliseconds) {
      fail(error, "duration '" + original + "' is too long (at most 100 days)");
      return std::nullopt;
    }
  }
  return Duration(total);
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text, std::string* error) {
  return parse_parts(text, error, false);
}

std::optional<Duration> parse_go_duration(std::string_view text, std::string* error) {
  return parse_parts(text, error, true);
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
