// The command line: subcommands, flags, and the mapping of errors to exit codes.
#pragma once

#include "visor/common/exit_code.h"

namespace visor {

/// Runs visor with its command line; returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace visor
