// The configuration layer: flag > VISOR_* environment variable > JSON config file > Cosmovisor's
// DAEMON_* variables (profile cosmos only) > profile > default. Every error is collected, so that
// an operator sees them all at once.
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

/// Where a value came from, highest precedence first (`visor config` prints it).
enum class OriginKind {
  flag,                ///< the command line
  environment,         ///< a VISOR_* variable
  config_file,         ///< the JSON config file
  daemon_environment,  ///< a Cosmovisor DAEMON_* variable (profile cosmos)
  profile,             ///< the --profile preset
  default_value,       ///< visor's default (or one derived from other options)
};

/// "flag", "environment", "config file", "DAEMON_* environment", "profile", "default".
const char* to_string(OriginKind kind);

/// Values as they were given, with where each came from (for error messages).
struct RawValue {
  std::string value;
  std::string origin;  ///< e.g. "--stop-timeout", "VISOR_STOP_TIMEOUT", "/etc/visor.json"
  OriginKind kind = OriginKind::flag;
  std::vector<std::string> list{};  ///< every value of a repeatable flag, in the order given
};
using RawValues = std::map<std::string, RawValue>;

/// Reads the environment through this function; a seam for tests.
using GetEnvironment = std::function<const char*(const char*)>;

/// The origin `visor wrap -- WORDS...` gives the command after `--`.
inline constexpr const char* kTrailingCommandOrigin = "the command after --";

/// The result of loading: the options, and every error found (empty when valid).
struct LoadedConfig {
  Options options;
  std::vector<std::string> errors;
  /// One line each: an unknown VISOR_* variable, Cosmovisor variables with no equivalent.
  std::vector<std::string> warnings;
  /// Lines for the log once it is set up: each Cosmovisor variable used, named once.
  std::vector<std::string> notes;
  /// The effective raw value of every option that has one, with its origin (`visor config`).
  RawValues effective;
};

/// Merges the layers and validates the result. `command_line` holds the flags that were given.
/// `require_command` demands --cmd (wrap and check do; add-upgrade, which only wants the home
/// and the managed binary's name, does not). `environment_variables` lists the names of all
/// variables set, so that an unknown VISOR_* one gets a warning naming the closest option.
LoadedConfig load_config(const RawValues& command_line, const GetEnvironment& get_environment,
                         bool require_command = true,
                         const std::vector<std::string>& environment_variables = {});

/// `~` or `~/...` at the start of a path becomes the user's home ($HOME); other text is
/// returned unchanged.
std::string expand_home(const std::string& path, const GetEnvironment& get_environment);

/// The values a profile (e.g. "lava-provider") sets; empty map for an unknown name.
RawValues profile_values(const std::string& profile);
/// The names of all profiles.
std::vector<std::string> profile_names();

}  // namespace visor
