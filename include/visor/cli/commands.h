// The subcommands other than wrap; each returns the process exit code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "visor/common/result.h"
#include "visor/daemon/preflight.h"
#include "visor/ops/service_unit.h"

namespace visor {

/// `visor check`: prints what preflight found (every error, every warning, the binary wrap would
/// run) and probes the configured endpoints. Exit 2 when wrap would exit 2 (a configuration
/// error), 1 when the configuration is valid but an endpoint is unreachable, garbled or of
/// another chain, 0 when all is well.
int run_check(const Preflight& checked);
/// `visor config`: the effective configuration of wrap, one option per line with its origin.
/// Exit 2 (after printing what is valid) when the configuration has errors.
int run_config(const LoadedConfig& loaded, bool json);
/// `visor init`: create the home layout; import `import_path` as the first version when given.
int run_init(const std::string& home, const std::string& import_path);

/// What `visor add-upgrade` was asked.
struct AddUpgradeRequest {
  std::string home;
  std::string name;  ///< the managed binary's name (see resolve in cli.cpp); never empty
  /// Every binary of the release when a service set runs several (name is the first); empty
  /// or one entry for a single binary.
  std::vector<std::string> names;
  std::string binary;  ///< `--binary NAME`: which binary of the set FILE is
  std::string version;
  std::string file;
  std::string plan;
  std::string version_args = "version";
  bool stage_only = false;
  bool force = false;  ///< replace a staged version that is not current
  /// `--height H`: only stage, and record H -> version in state.json's height_switches; a visor
  /// reading the chain through --node switches when the chain reaches H.
  std::optional<std::uint64_t> height;
};
/// `visor add-upgrade`: stage `file` as upgrades/<version>/<name> (optionally for a Cosmos
/// plan). Unless `stage_only` (or a plan is named), a visor running with --source none then
/// switches to it.
int run_add_upgrade(const AddUpgradeRequest& request);
/// `--height H` of add-upgrade: decimal digits only, 1 to 2^63-1 (a Cosmos/CometBFT height is
/// an int64 starting at 1); anything else (0, a sign, hex, a value past int64) is one error line.
Result<std::uint64_t> parse_block_height(const std::string& text);
/// `visor status`: the store's state and the live state of a running visor.
int run_status(const std::string& home, bool json);
/// `visor create-service`: print or write a systemd unit for a request whose --cmd and
/// --visor-args passed wrap's validation.
int run_create_service(const ServiceRequest& request);

}  // namespace visor
