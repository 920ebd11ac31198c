// Lava's protocol params (`/lavanet/lava/protocol/params`) and what they ask of a provider or
// consumer: pure parsing and decision logic, no I/O.
#pragma once

#include <string>
#include <string_view>

#include "visor/common/result.h"
#include "visor/config/options.h"
#include "visor/sources/source.h"

namespace visor {

/// The min/target pair that applies to one role, normalised (no leading v).
struct LavaVersions {
  LavaRole role = LavaRole::provider;
  std::string target;  ///< e.g. "5.3.0" from provider_target
  std::string min;     ///< e.g. "4.2.1" from provider_min; never above target
};

/// The params URL for a REST (LCD) base URL; trailing slashes of the base are dropped:
/// "http://h:1317/" -> "http://h:1317/lavanet/lava/protocol/params".
std::string lava_params_url(std::string_view rest_base);

/// What to tell an operator whose --lava-rest answered `http_status` (a 404 or 501 usually means
/// the URL is not a REST endpoint); empty when there is nothing to add.
std::string lava_rest_hint(int http_status);

/// Parses `{"params":{"version":{"provider_target":"5.3.0","provider_min":"4.2.1",...}}}` and
/// picks the pair of `role`. Extra fields are ignored; only the role's two fields are required.
/// Errors (without the URL): not JSON, wrong shape, a missing field, a value that is not a
/// version, min above target.
Result<LavaVersions> parse_lava_params(std::string_view body, LavaRole role);

/// What the params ask of a node running `current_version`:
/// - current unknown (empty or not a version): nothing, and `reason` says so;
/// - current < min: target, activate, fallbacks {min} (mandatory; min is tried when target
///   cannot be had), unless min == target;
/// - min <= current < target: target; activate with UpgradeAt::target, pre-stage only with
///   UpgradeAt::min;
/// - current >= target: nothing (empty target).
UpgradeDecision decide_lava(const LavaVersions& versions, UpgradeAt policy,
                            const std::string& current_version);

}  // namespace visor
