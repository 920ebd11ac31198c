#include "visor/sources/cometbft_rpc.h"

#include <openssl/evp.h>

#include <utility>

#include "proto/cosmos_upgrade.pb.h"
#include "proto/lava_protocol.pb.h"
#include "visor/common/outside_text.h"
#include "visor/sources/json_fields.h"

namespace visor {
namespace {

std::string trimmed(std::string_view node) {
  while (!node.empty() && node.back() == '/') node.remove_suffix(1);
  return std::string(node);
}

// The JSON-RPC `result` of a CometBFT reply, or the reason there is none.
Result<nlohmann::json> rpc_result(std::string_view body) {
  std::string error;
  auto document = parse_json(body, error);
  if (!document) return Result<nlohmann::json>::failure(error);
  if (!document->is_object()) {
    return Result<nlohmann::json>::failure("not a JSON-RPC reply: '" + outside_text(body) + "'");
  }
  if (const auto failure = document->find("error");
      failure != document->end() && !failure->is_null()) {
    std::string message;
    if (failure->is_object()) {
      for (const char* key : {"message", "data"}) {
        const auto part = failure->find(key);
        if (part != failure->end() && part->is_string()) {
          message += (message.empty() ? "" : ": ") + part->get<std::string>();
        }
      }
    }
    if (message.empty())
      return Result<nlohmann::json>::failure("JSON-RPC error: " + describe_json(*failure));
    return Result<nlohmann::json>::failure("JSON-RPC error: " + outside_text(message));
  }
  const auto result = document->find("result");
  if (result == document->end() || !result->is_object()) {
    return Result<nlohmann::json>::failure("not a JSON-RPC reply (no \"result\" object): '" +
                                           outside_text(body) + "'");
  }
  return nlohmann::json(std::move(*result));
}

// Strict base64 (RFC 4648, padded, as Go's encoding/json writes []byte). OpenSSL's EVP decoder
// rejects characters outside the alphabet; a length that is not a multiple of 4 is refused
// first, since EVP would otherwise keep a partial block silently.
Result<std::string> decode_base64(std::string_view text) {
  if (text.size() % 4 != 0) {
    return Result<std::string>::failure("value is not base64 (length " +
                                        std::to_string(text.size()) + " is not a multiple of 4)");
  }
  std::string out(text.size() / 4 * 3 + 3, '\0');
  EVP_ENCODE_CTX* context = EVP_ENCODE_CTX_new();
  if (context == nullptr) return Result<std::string>::failure("EVP_ENCODE_CTX_new failed");
  EVP_DecodeInit(context);
  int written = 0;
  int final_written = 0;
  const int update = EVP_DecodeUpdate(context, reinterpret_cast<unsigned char*>(out.data()),
                                      &written, reinterpret_cast<const unsigned char*>(text.data()),
                                      static_cast<int>(text.size()));
  const int final =
      update < 0 ? -1
                 : EVP_DecodeFinal(context, reinterpret_cast<unsigned char*>(out.data()) + written,
                                   &final_written);
  EVP_ENCODE_CTX_free(context);
  if (update < 0 || final < 0) {
    return Result<std::string>::failure("value is not base64 ('" + outside_text(text, 40) + "')");
  }
  out.resize(static_cast<std::size_t>(written) + static_cast<std::size_t>(final_written));
  return out;
}

}  // namespace

std::string node_status_url(std::string_view node) { return trimmed(node) + "/status"; }

std::string abci_query_url(std::string_view node, std::string_view path) {
  return trimmed(node) + "/abci_query?path=%22" + std::string(path) + "%22";
}

Result<NodeStatus> parse_node_status(std::string_view body) {
  auto result = rpc_result(body);
  if (!result) return Result<NodeStatus>::failure(result.error());
  const nlohmann::json& root = result.value();
  NodeStatus status;
  const auto node_info = root.find("node_info");
  if (node_info == root.end() || !node_info->is_object() || !node_info->contains("network") ||
      !(*node_info)["network"].is_string()) {
    return Result<NodeStatus>::failure("wrong shape: no result.node_info.network string");
  }
  status.chain_id = (*node_info)["network"].get<std::string>();
  const auto sync_info = root.find("sync_info");
  if (sync_info != root.end() && sync_info->is_object() &&
      sync_info->contains("latest_block_height")) {
    const auto height = json_unsigned((*sync_info)["latest_block_height"]);
    if (!height) {
      return Result<NodeStatus>::failure("result.sync_info.latest_block_height " +
                                         describe_json((*sync_info)["latest_block_height"], 40) +
                                         " is not a block height");
    }
    status.height = *height;
  }
  return status;
}

Status check_chain(const NodeStatus& status, const std::string& expected) {
  if (expected.empty() || status.chain_id == expected) return Status();
  return Status::failure("the node serves chain '" + outside_text(status.chain_id, 64) +
                         "', not --chain-id '" + expected + "'; ignoring what it says");
}

Result<std::string> parse_abci_query(std::string_view body) {
  auto result = rpc_result(body);
  if (!result) return Result<std::string>::failure(result.error());
  const nlohmann::json& root = result.value();
  const auto response = root.find("response");
  if (response == root.end() || !response->is_object()) {
    return Result<std::string>::failure("wrong shape: no result.response object");
  }
  if (const auto code = response->find("code"); code != response->end() && !code->is_null()) {
    const auto number = json_unsigned(*code);
    if (!number || *number != 0) {
      std::string log;
      if (const auto text = response->find("log"); text != response->end() && text->is_string()) {
        log = ": " + outside_text(text->get<std::string>());
      }
      return Result<std::string>::failure("query failed with code " + describe_json(*code, 20) +
                                          log);
    }
  }
  const auto value = response->find("value");
  if (value == response->end() || value->is_null()) return std::string();
  if (!value->is_string()) {
    return Result<std::string>::failure("result.response.value is not a string: " +
                                        describe_json(*value, 40));
  }
  return decode_base64(value->get_ref<const std::string&>());
}

Result<LavaVersions> decode_lava_params(std::string_view value, LavaRole role) {
  wire::lava::QueryParamsResponse reply;
  if (value.empty() || !reply.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return Result<LavaVersions>::failure(value.empty()
                                             ? "the node answered no params (empty value)"
                                             : "value is not a protobuf QueryParamsResponse (" +
                                                   std::to_string(value.size()) + " bytes)");
  }
  if (!reply.has_params() || !reply.params().has_version()) {
    return Result<LavaVersions>::failure("QueryParamsResponse has no params.version");
  }
  const auto& version = reply.params().version();
  return role == LavaRole::provider
             ? lava_versions(role, version.provider_target(), version.provider_min())
             : lava_versions(role, version.consumer_target(), version.consumer_min());
}

Result<std::optional<UpgradeInfo>> decode_current_plan(std::string_view value) {
  using Answer = Result<std::optional<UpgradeInfo>>;
  if (value.empty()) return std::optional<UpgradeInfo>();
  wire::cosmos::QueryCurrentPlanResponse reply;
  if (!reply.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return Answer::failure("value is not a protobuf QueryCurrentPlanResponse (" +
                           std::to_string(value.size()) + " bytes)");
  }
  if (!reply.has_plan() || reply.plan().name().empty()) return std::optional<UpgradeInfo>();
  const auto& plan = reply.plan();
  if (plan.height() <= 0) {
    return Answer::failure("plan '" + outside_text(plan.name(), 64) + "' has height " +
                           std::to_string(plan.height()));
  }
  UpgradeInfo info;
  info.name = plan.name();
  info.height = static_cast<std::uint64_t>(plan.height());
  read_plan_info(info, plan.info());
  return std::optional<UpgradeInfo>(std::move(info));
}

FetchOutcome fetch_node_query(const HttpFunction& http, const HttpRequest& base,
                              const std::string& node, std::string_view path) {
  HttpRequest request = base;
  request.method = "GET";
  request.headers = {"Accept: application/json"};
  request.url = node_status_url(node);
  FetchOutcome status = fetch_http(http, request, url_for_display(request.url));
  if (status.kind != FetchOutcome::Kind::ok) return status;
  request.url = abci_query_url(node, path);
  FetchOutcome query = fetch_http(http, request, url_for_display(request.url));
  if (query.kind != FetchOutcome::Kind::ok) return query;
  query.node_status = std::move(status.body);
  return query;
}

}  // namespace visor
