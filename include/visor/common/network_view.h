// What visor knows about the chain from its source: with a node's RPC (--node) its id, its height
// and the upgrade plan it has scheduled; from lava and vega what the network asks of the node.
// Filled by the sources, shown by status, status.json and /metrics.
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

/// What the network asks of the node, as the last good poll of a lava or vega source read it.
struct NetworkAsk {
  std::string min_version;     ///< lava: the role's *_min, e.g. "4.2.1"; empty for vega
  std::string target_version;  ///< lava: the role's *_target; vega: the accepted release tag
                               ///< ("v0.80.0"), empty when none is accepted
  std::optional<std::uint64_t> upgrade_height;  ///< vega: the accepted release's upgrade height
  bool ready_to_upgrade = false;                ///< vega: ReadyToUpgrade
};

/// What a source knows about the chain besides its decisions.
struct NetworkView {
  std::string chain_id;                       ///< empty when unknown
  std::optional<std::uint64_t> chain_height;  ///< the node's latest block height
  std::optional<ScheduledPlan> plan;          ///< the scheduled plan; nullopt when none
  std::optional<NetworkAsk>
      asks;  ///< lava and vega: what the network asks; nullopt before a reading
};

}  // namespace visor
