// Fuzzes parse_lava_params for both roles, and decide_lava on what parses: a parsed pair has
// min <= target, and a decision never asks for a version below the running one.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "visor/sources/lava_params.h"
#include "visor/store/semver.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (const visor::LavaRole role : {visor::LavaRole::provider, visor::LavaRole::consumer}) {
    const auto parsed = visor::parse_lava_params(body, role);
    if (!parsed) {
      FUZZ_CHECK(!parsed.error().empty(), "a failure without a message");
      continue;
    }
    const auto target = visor::SemVer::parse(parsed->target);
    const auto min = visor::SemVer::parse(parsed->min);
    FUZZ_CHECK(target && min, "a parsed version that does not parse again");
    FUZZ_CHECK(*min <= *target, "min above target");
    for (const char* current : {"", "0.0.1", "4.2.1", "5.3.0", "99.0.0", "not-a-version"}) {
      for (const visor::UpgradeAt policy : {visor::UpgradeAt::target, visor::UpgradeAt::min}) {
        const visor::UpgradeDecision decision = visor::decide_lava(parsed.value(), policy, current);
        if (decision.target.empty()) continue;
        const auto wanted = visor::SemVer::parse(decision.target);
        FUZZ_CHECK(wanted.has_value(), "a decision target that is not a version");
        if (const auto running = visor::SemVer::parse(current)) {
          FUZZ_CHECK(*wanted > *running, "a decision for a version not above the running one");
        }
      }
    }
  }
  return 0;
}
