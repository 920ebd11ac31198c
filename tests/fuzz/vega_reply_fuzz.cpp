// Fuzzes parse_vega_reply and decide_vega: an accepted release has a version that parses, and
// a decision never asks for a version at or below the running one.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "visor/sources/vega_status.h"
#include "visor/store/semver.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (const int id : {1, 7}) {
    const auto parsed = visor::parse_vega_reply(body, id);
    if (!parsed) {
      FUZZ_CHECK(!parsed.error().empty(), "a failure without a message");
      continue;
    }
    if (parsed->accepted()) {
      FUZZ_CHECK(visor::SemVer::parse(parsed->version).has_value(),
                 "accepted version does not parse");
    }
    for (const char* current : {"", "0.79.0", "0.80.0", "1.0.0"}) {
      const visor::UpgradeDecision decision = visor::decide_vega(parsed.value(), current);
      if (decision.target.empty()) continue;
      FUZZ_CHECK(parsed->accepted(), "a decision without an accepted release");
      if (const auto running = visor::SemVer::parse(current)) {
        const auto wanted = visor::SemVer::parse(decision.target);
        FUZZ_CHECK(wanted && *wanted > *running, "a decision not above the running version");
      }
    }
  }
  return 0;
}
