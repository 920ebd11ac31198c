// The command line: subcommands, flags, and the mapping of errors to exit codes.
#pragma once

namespace visor {

/// Exit codes of visor itself (the child's code is passed through otherwise).
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,        ///< gave up after too many restarts, home locked or unusable
  kExitConfiguration = 2,  ///< bad flags, config file, environment or command line
};

/// Runs visor with its command line; returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace visor
