// `visor wrap`: the composition root that wires supervision, the store, the upgrade source and
// the operations endpoints onto one io_context.
#pragma once

#include "visor/config/options.h"
#include "visor/daemon/preflight.h"

namespace visor {

/// Runs the supervisor until it exits, running `binary` (what preflight chose for `options`);
/// returns visor's exit code.
int run_daemon(const Options& options, const BinaryChoice& binary);

}  // namespace visor
