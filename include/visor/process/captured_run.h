// Running a short helper command to completion and reading what it printed: the version probe
// (`<binary> version`) and the Vega data node's history query use it. No shell, stdin
// /dev/null, stdout and stderr captured up to a cap, killed at a deadline.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "visor/common/clock.h"
#include "visor/common/result.h"
#include "visor/process/process_table.h"

namespace visor {

/// What a captured run printed and how it ended.
struct CapturedRun {
  std::string output;                ///< stdout and stderr interleaved, at most the cap
  bool truncated = false;            ///< more was printed than the cap; the rest was dropped
  bool timed_out = false;            ///< killed (SIGKILL) at the deadline
  std::optional<ExitStatus> status;  ///< nullopt when it could not be reaped in time
};

/// Runs argv[0] (a path; no PATH search, no shell) with `argv`, stdin /dev/null, output into
/// a pipe read until EOF or `timeout`; keeps at most `max_output` bytes. A failure to start
/// is an error naming the command; everything after is reported in CapturedRun.
Result<CapturedRun> run_captured(const std::vector<std::string>& argv, Duration timeout,
                                 std::size_t max_output = 64 * 1024);

}  // namespace visor
