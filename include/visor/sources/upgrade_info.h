// The Cosmos SDK's `upgrade-info.json`, written by x/upgrade when the chain halts for a plan:
// parsing, the binaries map of `info`, and what it asks of the node. Pure logic, no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "visor/common/result.h"
#include "visor/sources/source.h"

namespace visor {

/// One upgrade plan as the chain wrote it.
struct UpgradeInfo {
  std::string name;          ///< the plan name, e.g. "v2.0.0" or "gov-upgrade-2"; never empty
  std::uint64_t height = 0;  ///< the halt height
  std::string info;          ///< `info` as given (an object is kept as its JSON text)
  /// From `info`'s {"binaries":{...}}: "linux/amd64" -> URL, "any" -> URL. Empty when `info`
  /// carries no such map (free text, a URL, or something unreadable: never an error).
  std::map<std::string, std::string> binaries;
  /// `info` when it is a bare http(s) URL (Cosmovisor would fetch a binaries JSON from it;
  /// visor does not follow it: it is reported in the decision's reason).
  std::string info_url;
};

/// The `info` of the request `visor add-upgrade` writes for a visor with --source none: a
/// manual upgrade, not a chain halt (its height is only a request number).
inline constexpr const char* kManualUpgradeInfo = "visor add-upgrade";

/// The os/arch pair that keys `binaries` and fills {os}/{arch}: e.g. {"linux", "amd64"}.
struct Platform {
  std::string os;
  std::string arch;
};

/// The platform visor was built for ("linux" and "amd64" / "arm64" / "386" / "arm" / ...).
Platform host_platform();

/// Parses `{"name":"v2.0.0","height":1234,"info":"..."}` (also "time" and other keys, ignored).
/// `height` may be a number or a decimal string. `info` may be a JSON string holding
/// `{"binaries":{...}}`, such an object itself, or any free text. Empty, half-written or
/// malformed content is an error (the caller ignores it until the file parses).
Result<UpgradeInfo> parse_upgrade_info(std::string_view body);

/// The artifact URL for os/arch: the exact "os/arch" key first, then "any".
std::optional<std::string> binary_url_for(const UpgradeInfo& info, const std::string& os,
                                          const std::string& arch);

/// The hex digest of a `checksum=sha256:<hex>` query parameter (lower case), or "" when the URL
/// has none or names another algorithm.
std::string sha256_from_url(std::string_view url);

/// What the plan asks of the node:
/// - plan = info.name; height = info.height; activate = true (the chain has halted);
/// - target = `plan_version` (normalised) when given (e.g. from a plan -> version mapping),
///   else the plan name normalised when it is a version ("v2.0.0" -> "2.0.0"), else empty (the
///   daemon maps the plan to a version);
/// - url = the binaries entry for `platform` as written (checksum query kept), sha256 = its
///   checksum=sha256:<hex>, if any;
/// - when `current_version` is known and target is not above it, nothing is asked:
///   activate = false and empty target (the plan is already carried out).
UpgradeDecision decide_cosmos(const UpgradeInfo& info, const std::string& plan_version,
                              const std::string& current_version = {},
                              const Platform& platform = host_platform());

}  // namespace visor
