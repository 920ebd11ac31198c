#include "visor/sources/lava_params.h"

#include <optional>

#include "visor/sources/json_fields.h"

#include "visor/common/outside_text.h"
#include "visor/store/semver.h"

namespace visor {
namespace {

const char* role_prefix(LavaRole role) {
  return role == LavaRole::provider ? "provider" : "consumer";
}

// Reads params.version.<field> as a version; sets `error` and returns nullopt otherwise.
std::optional<SemVer> read_version(const nlohmann::json& version_object, const std::string& field,
                                   std::string& error) {
  const auto found = version_object.find(field);
  if (found == version_object.end() || found->is_null()) {
    error = "params.version." + field + " is missing";
    return std::nullopt;
  }
  if (!found->is_string()) {
    error = "params.version." + field + " is not a string: " + describe_json(*found);
    return std::nullopt;
  }
  auto parsed = SemVer::parse(found->get_ref<const std::string&>());
  if (!parsed) {
    error = "params.version." + field + " '" + outside_text(found->get_ref<const std::string&>()) +
            "' is not a version";
    return std::nullopt;
  }
  return parsed;
}

}  // namespace

std::string lava_rest_hint(int http_status) {
  if (http_status != 404 && http_status != 501) return {};
  return "; is --lava-rest the node's REST (LCD) API? It usually listens on port 1317 and must be "
         "enabled (app.toml [api] enable = true); a CometBFT RPC URL (port 26657) belongs in "
         "--node";
}

std::string lava_params_url(std::string_view rest_base) {
  while (!rest_base.empty() && rest_base.back() == '/') rest_base.remove_suffix(1);
  return std::string(rest_base) + "/lavanet/lava/protocol/params";
}

Result<LavaVersions> parse_lava_params(std::string_view body, LavaRole role) {
  std::string error;
  const auto document = parse_json(body, error);
  if (!document) return Result<LavaVersions>::failure(error);
  if (!document->is_object() || !document->contains("params") ||
      !(*document)["params"].is_object()) {
    return Result<LavaVersions>::failure("wrong shape: no \"params\" object in '" +
                                         outside_text(body) + "'");
  }
  const auto& params = (*document)["params"];
  if (!params.contains("version") || !params["version"].is_object()) {
    return Result<LavaVersions>::failure("wrong shape: no \"params.version\" object in '" +
                                         outside_text(body) + "'");
  }
  const auto& version_object = params["version"];
  const std::string prefix = role_prefix(role);
  const auto target = read_version(version_object, prefix + "_target", error);
  if (!target) return Result<LavaVersions>::failure(error);
  const auto min = read_version(version_object, prefix + "_min", error);
  if (!min) return Result<LavaVersions>::failure(error);
  if (*min > *target) {
    return Result<LavaVersions>::failure(prefix + "_min " + min->str() + " is above " + prefix +
                                         "_target " + target->str());
  }
  LavaVersions versions;
  versions.role = role;
  versions.target = target->str();
  versions.min = min->str();
  return versions;
}

UpgradeDecision decide_lava(const LavaVersions& versions, UpgradeAt policy,
                            const std::string& current_version) {
  UpgradeDecision decision;
  const std::string prefix = role_prefix(versions.role);
  const auto current = SemVer::parse(current_version);
  const auto target = SemVer::parse(versions.target);
  const auto min = SemVer::parse(versions.min);
  if (!target || !min) {  // only when built by hand: parse_lava_params never yields these
    decision.reason = "no valid " + prefix + " versions to compare with";
    return decision;
  }
  if (!current) {
    decision.reason = "current version unknown" +
                      (current_version.empty() ? std::string() : " ('" + current_version + "')") +
                      ": cannot compare with " + prefix + "_min " + versions.min + " and " +
                      prefix + "_target " + versions.target + "; doing nothing";
    return decision;
  }
  if (*current >= *target) {
    decision.reason =
        "current " + current->str() + " meets " + prefix + "_target " + versions.target;
    return decision;
  }
  decision.target = versions.target;
  if (*current < *min) {
    decision.activate = true;
    if (versions.min != versions.target) decision.fallbacks.push_back(versions.min);
    decision.reason = "current " + current->str() + " is below " + prefix + "_min " + versions.min +
                      ": mandatory upgrade to " + prefix + "_target " + versions.target;
    return decision;
  }
  if (policy == UpgradeAt::target) {
    decision.activate = true;
    decision.reason = "current " + current->str() + " is below " + prefix + "_target " +
                      versions.target + " (upgrade-at target)";
  } else {
    decision.activate = false;
    decision.reason = "current " + current->str() + " is below " + prefix + "_target " +
                      versions.target + " but not below " + prefix + "_min " + versions.min +
                      ": pre-staging only (upgrade-at min)";
  }
  return decision;
}

}  // namespace visor
