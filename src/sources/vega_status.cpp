#include "visor/sources/vega_status.h"

#include <optional>

#include "visor/sources/json_fields.h"

#include "visor/common/outside_text.h"
#include "visor/store/semver.h"

namespace visor {
namespace {

Result<VegaUpgradeStatus> fail(std::string message) {
  return Result<VegaUpgradeStatus>::failure(std::move(message));
}

std::string describe_id(const nlohmann::json& document) {
  const auto found = document.find("id");
  if (found == document.end()) return "no id";
  return "id " + describe_json(*found, 40);
}

// The message of a JSON-RPC error value: {"code":..,"message":".."}, a string, or anything else.
std::string error_message(const nlohmann::json& error) {
  if (error.is_string()) return outside_text(error.get_ref<const std::string&>());
  if (error.is_object()) {
    std::string text;
    if (const auto code = error.find("code"); code != error.end() && code->is_number_integer()) {
      text = "code " + code->dump() + ": ";
    }
    const auto message = error.find("message");
    if (message != error.end() && message->is_string())
      return text + outside_text(message->get_ref<const std::string&>());
    return text + describe_json(error);
  }
  return describe_json(error);
}

}  // namespace

std::string vega_request_body(int id) {
  return R"({"method":"protocolupgrade.UpgradeStatus","params":[null],"id":)" + std::to_string(id) +
         "}";
}

Result<VegaUpgradeStatus> parse_vega_reply(std::string_view body, int expected_id) {
  std::string error;
  const auto parsed = parse_json(body, error);
  if (!parsed) return fail(error);
  const nlohmann::json& document = *parsed;
  if (!document.is_object()) {
    return fail("wrong shape: expected a JSON-RPC reply object, got '" + outside_text(body) + "'");
  }
  const auto id = document.find("id");
  if (id == document.end() || !id->is_number_integer() || id->get<std::int64_t>() != expected_id) {
    return fail("reply " + describe_id(document) + " does not match request id " +
                std::to_string(expected_id));
  }
  if (const auto rpc_error = document.find("error");
      rpc_error != document.end() && !rpc_error->is_null()) {
    return fail("JSON-RPC error: " + error_message(*rpc_error));
  }
  const auto result = document.find("result");
  if (result == document.end() || !result->is_object()) {
    return fail("wrong shape: no \"result\" object in '" + outside_text(body) + "'");
  }
  const auto ready = result->find("ReadyToUpgrade");
  if (ready == result->end() || !ready->is_boolean()) {
    return fail("wrong shape: result.ReadyToUpgrade is missing or not true/false in '" +
                outside_text(body) + "'");
  }
  const auto info = result->find("AcceptedReleaseInfo");
  if (info == result->end() || !(info->is_null() || info->is_object())) {
    return fail("wrong shape: result.AcceptedReleaseInfo is missing or not an object in '" +
                outside_text(body) + "'");
  }
  VegaUpgradeStatus status;
  status.ready_to_upgrade = ready->get<bool>();
  if (info->is_null()) return status;  // before the first block

  const auto tag = info->find("VegaReleaseTag");
  if (tag != info->end() && !tag->is_null() && !tag->is_string()) {
    return fail("wrong shape: AcceptedReleaseInfo.VegaReleaseTag is not a string");
  }
  status.release_tag = tag == info->end() || tag->is_null() ? "" : tag->get<std::string>();
  if (status.release_tag.empty()) return status;  // nothing accepted

  const auto version = SemVer::parse(status.release_tag);
  if (!version) {
    return fail("accepted release tag '" + outside_text(status.release_tag) + "' is not a version");
  }
  status.version = version->str();
  const auto height = info->find("UpgradeBlockHeight");
  if (height == info->end())
    return fail("wrong shape: AcceptedReleaseInfo.UpgradeBlockHeight is missing");
  const auto height_value = json_unsigned(*height);
  if (!height_value) {
    return fail("AcceptedReleaseInfo.UpgradeBlockHeight " + describe_json(*height, 40) +
                " is not a block height");
  }
  status.upgrade_height = *height_value;
  return status;
}

UpgradeDecision decide_vega(const VegaUpgradeStatus& status, const std::string& current_version) {
  UpgradeDecision decision;
  if (!status.accepted()) {
    decision.reason = "no release accepted by the network";
    return decision;
  }
  const auto accepted = SemVer::parse(status.version);
  if (!accepted) {  // only when built by hand: parse_vega_reply never yields this
    decision.reason = "accepted release '" + status.version + "' is not a version";
    return decision;
  }
  const auto current = SemVer::parse(current_version);
  if (current && *accepted <= *current) {
    decision.reason =
        "accepted release " + status.release_tag + " is not above current " + current->str();
    return decision;
  }
  decision.target = accepted->str();
  decision.height = status.upgrade_height;
  decision.activate = status.ready_to_upgrade;
  const std::string against =
      current ? "above current " + current->str() : "current version unknown, following the node";
  decision.reason = "accepted release " + status.release_tag + " at height " +
                    std::to_string(status.upgrade_height) + " (" + against + ")" +
                    (status.ready_to_upgrade ? ": node is ready to upgrade"
                                             : ": pre-staging until the node is ready");
  return decision;
}

}  // namespace visor
