// The configuration layer: flag > VISOR_* environment variable > JSON config file > profile >
// default. Every error is collected, so that an operator sees them all at once.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "visor/config/options.h"

namespace visor {

/// One setting that can come from a flag, the environment or the config file.
struct OptionSpec {
  std::string name;           ///< flag name without dashes, also the config file key
  std::string default_value;  ///< empty when there is no default
  std::string help;
  bool is_flag = false;     ///< a boolean switch (`--allow-http`), no value on the command line
  bool repeatable = false;  ///< may be given several times (`--child`); see RawValue::list
};

/// Every option of `visor wrap`, in the order the help lists them.
const std::vector<OptionSpec>& option_specs();

/// The environment variable of an option, e.g. "poll-interval" -> "VISOR_POLL_INTERVAL".
std::string environment_name(const std::string& option_name);

/// Values as they were given, with where each came from (for error messages).
struct RawValue {
  std::string value;
  std::string origin;  ///< e.g. "--stop-timeout", "VISOR_STOP_TIMEOUT", "/etc/visor.json"
  std::vector<std::string> list{};  ///< every value of a repeatable flag, in the order given
};
using RawValues = std::map<std::string, RawValue>;

/// Reads the environment through this function; a seam for tests.
using GetEnvironment = std::function<const char*(const char*)>;

/// The result of loading: the options, and every error found (empty when valid).
struct LoadedConfig {
  Options options;
  std::vector<std::string> errors;
};

/// Merges the layers and validates the result. `command_line` holds the flags that were given.
/// `require_command` demands --cmd (wrap does; check of a bare config may not).
LoadedConfig load_config(const RawValues& command_line, const GetEnvironment& get_environment,
                         bool require_command = true);

/// The values a profile (e.g. "lava-provider") sets; empty map for an unknown name.
RawValues profile_values(const std::string& profile);
/// The names of all profiles.
std::vector<std::string> profile_names();

}  // namespace visor
