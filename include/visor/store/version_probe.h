// Asking a binary its version: run `<binary> <version-args>`, take the first X.Y.Z[-pre].
#pragma once

#include <string>
#include <vector>

#include "visor/common/clock.h"
#include "visor/common/result.h"
#include "visor/store/semver.h"

namespace visor {

/// Runs `binary` with `version_args` (no shell; stdin /dev/null; stdout and stderr captured,
/// at most 64 KiB) and returns the first version in its output. The process is killed after
/// `timeout`. Errors say what happened ("... printed no version", "... timed out after 5000ms").
Result<SemVer> probe_version(const std::string& binary,
                             const std::vector<std::string>& version_args,
                             Duration timeout = Duration(10000));

}  // namespace visor
