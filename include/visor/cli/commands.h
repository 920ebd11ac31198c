// The subcommands other than wrap; each returns the process exit code.
#pragma once

#include <string>
#include <vector>

#include "visor/config/options.h"

namespace visor {

/// `visor check`: configuration is valid (already checked by the caller); probe the rest.
int run_check(const Options& options);
/// `visor init`: create the home layout; import `import_path` as the first version when given.
int run_init(const std::string& home, const std::string& import_path);
/// `visor add-upgrade`: stage `file` as `version` (optionally for Cosmos plan `plan`). Unless
/// `stage_only` (or a plan is named), a visor running with --source none then switches to it.
int run_add_upgrade(const std::string& home, const std::string& version, const std::string& file,
                    const std::string& plan, const std::string& version_args, bool stage_only);
/// `visor status`: the store's state and the live state of a running visor.
int run_status(const std::string& home, bool json);

/// What `visor create-service` writes.
struct ServiceRequest {
  std::string cmd;
  std::vector<std::string> children;  ///< `--child NAME=COMMAND` of a service set, instead of cmd
  std::string name;
  std::string user;
  std::string home;
  std::string output;
  std::string extra_args;
};
/// `visor create-service`: print or write a systemd unit.
int run_create_service(const ServiceRequest& request);

}  // namespace visor
