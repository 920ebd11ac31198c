// A node's CometBFT RPC (--node, e.g. http://127.0.0.1:26657), the interface LavaVisor and
// `lavap --node` use: `/status` for the chain id and height, and `/abci_query` for module queries
// whose replies are protobuf messages (proto/*.proto), base64 inside a JSON-RPC reply.
// Pure parsing and decoding here; cometbft_fetch runs the requests of one poll.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "visor/common/result.h"
#include "visor/config/options.h"
#include "visor/sources/http_fetch.h"
#include "visor/sources/lava_params.h"
#include "visor/sources/poll_loop.h"
#include "visor/sources/upgrade_info.h"

namespace visor {

/// The ABCI query path of Lava's protocol params (QueryParamsResponse).
inline constexpr std::string_view kLavaParamsQuery = "/lavanet.lava.protocol.Query/Params";
/// The ABCI query path of the Cosmos SDK's scheduled upgrade plan (QueryCurrentPlanResponse).
inline constexpr std::string_view kCurrentPlanQuery = "/cosmos.upgrade.v1beta1.Query/CurrentPlan";

/// What `/status` says about the node's chain.
struct NodeStatus {
  std::string chain_id;      ///< result.node_info.network, e.g. "lava-mainnet-1"
  std::uint64_t height = 0;  ///< result.sync_info.latest_block_height
};

/// "<node>/status"; trailing slashes of `node` are dropped.
std::string node_status_url(std::string_view node);
/// "<node>/abci_query?path=%22<path>%22" (the quotes CometBFT's URI form wants, percent-encoded).
std::string abci_query_url(std::string_view node, std::string_view path);

/// Parses the JSON-RPC reply of `/status`. Errors: not JSON, a JSON-RPC error, no
/// result.node_info.network string, a latest_block_height that is not a whole number.
Result<NodeStatus> parse_node_status(std::string_view body);

/// Ok when `expected` is empty or names the node's chain; otherwise one line naming both.
Status check_chain(const NodeStatus& status, const std::string& expected);

/// The raw bytes of `result.response.value` of an `/abci_query` reply (base64-decoded); empty
/// when the value is absent, null or "" (CometBFT's way of saying "nothing"). Errors: not JSON, a
/// JSON-RPC error, a non-zero response code (with its log), a value that is not base64.
Result<std::string> parse_abci_query(std::string_view body);

/// Decodes QueryParamsResponse{Params{Version}} and picks `role`'s pair (lava_versions).
Result<LavaVersions> decode_lava_params(std::string_view value, LavaRole role);

/// Decodes QueryCurrentPlanResponse{Plan}; nullopt when no plan is scheduled (empty value, no
/// plan, or a plan without a name). A plan's `info` is read like upgrade-info.json's.
Result<std::optional<UpgradeInfo>> decode_current_plan(std::string_view value);

/// One poll of a node: GET <node>/status, then GET the ABCI query `path` (deadline and size cap
/// of `base`, which also carries the CA bundle and the cancel flag). On success `body` holds the
/// query reply and `node_status` the /status reply; a failure names the URL and the cause.
/// Runs on the worker thread.
FetchOutcome fetch_node_query(const HttpFunction& http, const HttpRequest& base,
                              const std::string& node, std::string_view path);

}  // namespace visor
