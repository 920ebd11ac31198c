// visor's own exit codes; the child's code (or 128+signal) is passed through otherwise.
#pragma once

namespace visor {

/// Exit codes of visor itself (the child's code is passed through otherwise).
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,        ///< gave up after too many restarts, home locked or unusable
  kExitConfiguration = 2,  ///< bad flags, config file, environment or command line
};

}  // namespace visor
