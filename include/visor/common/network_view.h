// What visor knows about the chain from a node's RPC (--node): its id, its height and the upgrade
// plan it has scheduled. Filled by the sources, shown by status, status.json and /metrics.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace visor {

/// A plan the chain has scheduled (Cosmos x/upgrade), as a source read it before the halt.
struct ScheduledPlan {
  std::string name;
  std::uint64_t height = 0;
  std::string version;  ///< the plan name as a version ("v2.0.0" -> "2.0.0"), else empty
};

/// What a source reading a node (--node) knows about the chain besides its decisions.
struct NetworkView {
  std::string chain_id;                       ///< empty when unknown
  std::optional<std::uint64_t> chain_height;  ///< the node's latest block height
  std::optional<ScheduledPlan> plan;          ///< the scheduled plan; nullopt when none
};

}  // namespace visor
