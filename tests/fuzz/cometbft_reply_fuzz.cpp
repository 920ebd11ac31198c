// Fuzzes what a node's CometBFT RPC (--node) can send: the /status and /abci_query JSON-RPC
// replies, and the protobuf value inside (decoded both as Lava's QueryParamsResponse and as
// Cosmos's QueryCurrentPlanResponse). The input is used both as a JSON reply and as raw
// protobuf bytes. What parses must hold together: versions that parse again with min <= target,
// a scheduled plan with a name and a positive height.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "visor/sources/cometbft_rpc.h"
#include "visor/store/semver.h"

namespace {

void check_value(std::string_view value) {
  for (const visor::LavaRole role : {visor::LavaRole::provider, visor::LavaRole::consumer}) {
    const auto params = visor::decode_lava_params(value, role);
    if (!params) {
      FUZZ_CHECK(!params.error().empty(), "a failure without a message");
      continue;
    }
    const auto target = visor::SemVer::parse(params->target);
    const auto min = visor::SemVer::parse(params->min);
    FUZZ_CHECK(target && min, "a decoded version that does not parse again");
    FUZZ_CHECK(*min <= *target, "min above target");
  }
  const auto plan = visor::decode_current_plan(value);
  if (!plan) {
    FUZZ_CHECK(!plan.error().empty(), "a failure without a message");
  } else if (plan->has_value()) {
    FUZZ_CHECK(!(*plan)->name.empty(), "a scheduled plan without a name");
    FUZZ_CHECK((*plan)->height > 0, "a scheduled plan at height 0");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto status = visor::parse_node_status(input);
  if (status) {
    FUZZ_CHECK(visor::check_chain(status.value(), status->chain_id).ok(), "own chain refused");
  } else {
    FUZZ_CHECK(!status.error().empty(), "a failure without a message");
  }
  const auto value = visor::parse_abci_query(input);
  if (value) {
    check_value(value.value());
  } else {
    FUZZ_CHECK(!value.error().empty(), "a failure without a message");
  }
  check_value(input);
  return 0;
}
