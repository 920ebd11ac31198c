// Fuzzes parse_duration: no crash, results within the documented range (0 .. 100 days), and
// format_duration's output read back gives the same duration.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "visor/config/duration.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  const auto parsed = visor::parse_duration(text, &error);
  if (!parsed) {
    FUZZ_CHECK(!error.empty(), "a failure without a message");
    return 0;
  }
  FUZZ_CHECK(parsed->count() >= 0, "negative duration");
  FUZZ_CHECK(parsed->count() <= 100LL * 24 * 3600 * 1000, "duration beyond 100 days");
  const std::string formatted = visor::format_duration(*parsed);
  const auto again = visor::parse_duration(formatted);
  // Every duration round-trips (tests/fuzz/regressions/duration/ holds the inputs that once
  // did not: "1.5s" and "1s" for 1005ms).
  FUZZ_CHECK(again.has_value() && *again == *parsed, "format_duration does not round-trip");
  FUZZ_CHECK(!formatted.empty(), "format_duration wrote nothing");
  return 0;
}
