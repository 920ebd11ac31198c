// Fuzzes parse_latest_history_segment, which reads what `vega datanode network-history
// latest-history-segment --output json` printed: a height is never 0, a failure always says why,
// and the core's restart arguments carry exactly that height.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "visor/sources/vega_history.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view output(reinterpret_cast<const char*>(data), size);
  const auto height = visor::parse_latest_history_segment(output);
  const visor::CoreRestart restart = visor::core_restart_from(height);
  if (!height) {
    FUZZ_CHECK(!height.error().empty(), "a failure without a message");
    FUZZ_CHECK(restart.extra_args.empty(), "a flag without a segment");
    return 0;
  }
  FUZZ_CHECK(height.value() > 0, "a segment ending at height 0");
  FUZZ_CHECK(
      restart.extra_args.size() == 2 && restart.extra_args[1] == std::to_string(height.value()),
      "the flag does not carry the segment's height");
  return 0;
}
