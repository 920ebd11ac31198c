// The one validation `visor wrap` and `visor check` share: the configuration layers, the checks
// that need the home and the managed binary, and which binary wrap will run. check cannot drift
// from wrap because both call preflight() and act on its errors the same way (exit 2).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "visor/config/config_loader.h"

namespace visor {

/// Which binary `visor wrap` runs, decided without changing anything on disk.
struct BinaryChoice {
  std::string path;         ///< the file that runs: <home>/current/<name>, or the one found
  std::string version;      ///< its version; empty when it cannot tell
  bool from_store = false;  ///< the store's current version runs
  bool import = false;      ///< the home has no current version yet: `path` is imported at start
  /// Without a stored version: where each binary of the set was found, by name (the first is
  /// `path`); a set of several binary names imports them all, as one version.
  std::map<std::string, std::string> found;
};

/// What preflight found. `loaded.errors` non-empty: wrap must not start (exit 2).
struct Preflight {
  LoadedConfig loaded;  ///< the options, every error and warning (the binary's ones too)
  std::optional<BinaryChoice> binary;  ///< set when the errors leave wrap a binary to run
};

/// Validates `loaded` as wrap would and decides the binary: the store's current version of the
/// managed binary when there is one (a --cmd path that does not exist then only warns, and a
/// newer version of the binary on PATH is named in a warning); otherwise the file --cmd names
/// (a path, or a name looked up on PATH), which must exist and, under a source, tell its version.
Preflight preflight(LoadedConfig loaded);

}  // namespace visor
