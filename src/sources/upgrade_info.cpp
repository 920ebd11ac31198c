#include "visor/sources/upgrade_info.h"

#include <cctype>

#include "visor/sources/json_fields.h"

#include "visor/common/outside_text.h"
#include "visor/store/semver.h"

namespace visor {
namespace {

bool is_http_url(std::string_view text) {
  return (text.rfind("https://", 0) == 0 || text.rfind("http://", 0) == 0) &&
         text.find_first_of(" \t\r\n") == std::string_view::npos;
}

// Reads {"binaries":{key: url}} from an info object; entries that are not strings are skipped.
std::map<std::string, std::string> read_binaries(const nlohmann::json& info_object) {
  std::map<std::string, std::string> binaries;
  const auto found = info_object.find("binaries");
  if (found == info_object.end() || !found->is_object()) return binaries;
  for (const auto& [key, value] : found->items()) {
    if (value.is_string() && !value.get_ref<const std::string&>().empty()) {
      binaries[key] = value.get<std::string>();
    }
  }
  return binaries;
}

}  // namespace

Platform host_platform() {
  Platform platform;
  platform.os = "linux";
#if defined(__x86_64__)
  platform.arch = "amd64";
#elif defined(__aarch64__)
  platform.arch = "arm64";
#elif defined(__i386__)
  platform.arch = "386";
#elif defined(__arm__)
  platform.arch = "arm";
#elif defined(__riscv) && __riscv_xlen == 64
  platform.arch = "riscv64";
#else
  platform.arch = "unknown";
#endif
  return platform;
}

Result<UpgradeInfo> parse_upgrade_info(std::string_view body) {
  std::string error;
  const auto parsed = parse_json(body, error);
  if (!parsed) return Result<UpgradeInfo>::failure(error);
  const nlohmann::json& document = *parsed;
  if (!document.is_object()) {
    return Result<UpgradeInfo>::failure("wrong shape: expected an object, got '" +
                                        outside_text(body) + "'");
  }
  UpgradeInfo plan;
  const auto name = document.find("name");
  if (name == document.end() || !name->is_string() || name->get_ref<const std::string&>().empty()) {
    return Result<UpgradeInfo>::failure("no plan name (\"name\" missing, empty or not a string)");
  }
  plan.name = name->get<std::string>();
  const auto height = document.find("height");
  if (height == document.end()) return Result<UpgradeInfo>::failure("no \"height\"");
  const auto height_value = json_unsigned(*height);
  if (!height_value) {
    return Result<UpgradeInfo>::failure("height " + describe_json(*height, 40) +
                                        " is not a block height");
  }
  plan.height = *height_value;

  const auto info = document.find("info");
  if (info == document.end() || info->is_null()) return plan;
  if (info->is_object()) {
    plan.info = dump_json(*info);  // at most kMaxJsonDepth deep: parse_json refused deeper
    plan.binaries = read_binaries(*info);
  } else if (info->is_string()) {
    plan.info = info->get<std::string>();
    std::string ignored;
    if (const auto nested = parse_json(plan.info, ignored); nested && nested->is_object()) {
      plan.binaries = read_binaries(*nested);
    } else if (is_http_url(plan.info)) {
      plan.info_url = plan.info;
    }
  } else {
    plan.info = describe_json(*info);  // unexpected, but the plan itself is still valid
  }
  return plan;
}

std::optional<std::string> binary_url_for(const UpgradeInfo& info, const std::string& os,
                                          const std::string& arch) {
  if (const auto exact = info.binaries.find(os + "/" + arch); exact != info.binaries.end()) {
    return exact->second;
  }
  if (const auto any = info.binaries.find("any"); any != info.binaries.end()) return any->second;
  return std::nullopt;
}

std::string sha256_from_url(std::string_view url) {
  const auto question = url.find('?');
  if (question == std::string_view::npos) return {};
  std::string_view query = url.substr(question + 1);
  if (const auto fragment = query.find('#'); fragment != std::string_view::npos) {
    query = query.substr(0, fragment);
  }
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view parameter = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    constexpr std::string_view kPrefix = "checksum=sha256:";
    if (parameter.size() != kPrefix.size() + 64 ||
        parameter.compare(0, kPrefix.size(), kPrefix) != 0) {
      continue;
    }
    std::string hex(parameter.substr(kPrefix.size()));
    bool all_hex = true;
    for (auto& c : hex) {
      all_hex = all_hex && std::isxdigit(static_cast<unsigned char>(c)) != 0;
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (all_hex) return hex;
  }
  return {};
}

UpgradeDecision decide_cosmos(const UpgradeInfo& info, const std::string& plan_version,
                              const std::string& current_version, const Platform& platform) {
  UpgradeDecision decision;
  decision.plan = info.name;
  decision.height = info.height;
  const auto version = SemVer::parse(plan_version.empty() ? info.name : plan_version);
  const auto current = SemVer::parse(current_version);
  const std::string plan_text =
      info.info == kManualUpgradeInfo
          ? "manual upgrade to " + info.name
          : "plan " + info.name + " at height " + std::to_string(info.height);
  if (version && current && *version <= *current) {
    decision.reason = plan_text + ": version " + version->str() + " is not above current " +
                      current->str() + ", nothing to do";
    return decision;
  }
  decision.activate = true;
  if (version) decision.target = version->str();
  if (const auto url = binary_url_for(info, platform.os, platform.arch)) {
    decision.url = *url;
    decision.sha256 = sha256_from_url(*url);
  }
  decision.reason = info.info == kManualUpgradeInfo
                        ? "manual upgrade to " + info.name + " (visor add-upgrade)"
                        : plan_text + ": the chain halted for it";
  if (!version) decision.reason += "; plan name is not a version, the daemon maps it";
  if (decision.url.empty() && !info.binaries.empty()) {
    decision.reason += "; no binary listed for " + platform.os + "/" + platform.arch;
  }
  if (!info.info_url.empty()) {
    decision.reason += "; info points at " + outside_text(info.info_url, 200) + " (not followed)";
  }
  return decision;
}

}  // namespace visor
