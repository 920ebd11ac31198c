// `visor create-service`: a systemd unit that runs `visor wrap` as a Type=notify service.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "visor/common/clock.h"
#include "visor/common/result.h"

namespace visor {

/// What `visor create-service` writes a unit for. The caller fills in the resolved values
/// (home, stop timeout) from the effective configuration of `wrap`.
struct ServiceRequest {
  std::string cmd;                    ///< the node's command line (--cmd)
  std::vector<std::string> children;  ///< `--child NAME=COMMAND` of a service set, instead of cmd
  /// The command (cmd or children) is the one of `<home>/config.json`: ExecStart= leaves it to
  /// wrap, which reads that file at every start; cmd/children still name the unit and its paths.
  bool command_in_home = false;
  std::string name;        ///< the unit's name; empty: the managed binary's name
  std::string user;        ///< User=; empty: root
  std::string home;        ///< visor's home (absolute)
  std::string output;      ///< write here instead of stdout
  std::string extra_args;  ///< further wrap options (--visor-args)
  std::string visor_path;  ///< --visor-path: the visor binary for ExecStart=; empty: found
  /// The effective --stop-timeout (flag, VISOR_STOP_TIMEOUT or config.json); TimeoutStopSec=
  /// waits longer than it. Unset: the one in extra_args, else the default 30s.
  std::optional<Duration> stop_timeout;
};

/// The folders the node writes, read from its command line: every absolute path given to an
/// option whose name contains "home" or "dir" (`--home /srv/lava`, `--tendermint-home=/srv/tm`,
/// `--data-dir /d`, `--log_dir /l`). They go to ReadWritePaths= (ProtectSystem=strict).
std::vector<std::string> node_data_paths(const std::vector<std::string>& command);

/// Quotes one word of a command line (ExecStart=) for systemd, which splits words itself:
/// words of plain characters stay as they are, others are double-quoted with C escapes;
/// `%` becomes `%%` (specifiers) and `$` becomes `$$` (environment expansion) in every word.
std::string quote_exec_word(std::string_view word);

/// Checks what render_service_unit needs: a --cmd that splits into words, an absolute home and
/// file names, a unit name and user without odd characters, and --visor-args that split.
Status check_service_request(const ServiceRequest& request);

/// The unit's name without ".service": --name, else the managed binary's name.
std::string service_name(const ServiceRequest& request);

/// Renders the unit for a request that passed check_service_request; `visor_path` is the
/// absolute path of the visor binary for ExecStart=.
std::string render_service_unit(const ServiceRequest& request, const std::string& visor_path);

}  // namespace visor
