// Vega's `protocolupgrade.UpgradeStatus` over the admin socket's JSON-RPC 1.0 endpoint: the
// request body, the reply and what it asks of the node. Pure logic, no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "visor/common/result.h"
#include "visor/sources/source.h"

namespace visor {

/// One UpgradeStatus reply.
struct VegaUpgradeStatus {
  std::string release_tag;           ///< as sent, e.g. "v0.80.0"; empty when nothing is accepted
  std::string version;               ///< normalised, e.g. "0.80.0"; empty when nothing is accepted
  std::uint64_t upgrade_height = 0;  ///< UpgradeBlockHeight; 0 when nothing is accepted
  bool ready_to_upgrade = false;     ///< the node has stopped at the upgrade height
  /// True when the network has accepted a release.
  bool accepted() const { return !version.empty(); }
};

/// The request: `{"method":"protocolupgrade.UpgradeStatus","params":[null],"id":<id>}`.
std::string vega_request_body(int id);

/// Parses `{"result":{"AcceptedReleaseInfo":{"VegaReleaseTag":"v0.80.0","UpgradeBlockHeight":
/// 12345},"ReadyToUpgrade":false},"error":null,"id":<id>}`. AcceptedReleaseInfo null (before
/// the first block) or an empty tag mean nothing accepted. Errors (without the socket): not
/// JSON, wrong shape, an id other than `expected_id`, a JSON-RPC error (object with "message",
/// or a string) with its message, a tag that is not a version, a height that is not a
/// non-negative 64-bit whole number.
Result<VegaUpgradeStatus> parse_vega_reply(std::string_view body, int expected_id);

/// What the status asks of a node running `current_version`:
/// - nothing accepted, or an accepted version <= current: nothing (empty target);
/// - accepted version above current: target = that version, height = UpgradeBlockHeight,
///   activate = ReadyToUpgrade (false: pre-stage only).
/// When the current version is unknown the node's own report is followed: target is the
/// accepted version (the running node says that it needs it), and `reason` says so.
UpgradeDecision decide_vega(const VegaUpgradeStatus& status, const std::string& current_version);

}  // namespace visor
