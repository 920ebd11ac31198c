// Profile vega with a data node: which child gets the snapshot flag, and where the core
// restarts from. Vega Visor starts the core from the data node's latest history segment on
// every restart that is not an upgrade (so that core and data node stay consistent), and from
// no snapshot when the data node has none; these functions decide that, and run the query.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "visor/common/clock.h"
#include "visor/common/result.h"
#include "visor/config/options.h"
#include "visor/process/service_set.h"

namespace visor {

/// The index of the set's data node child (`vega datanode ...`), nullopt when it has none.
std::optional<std::size_t> vega_datanode_index(const Options& options);

/// The value of `--home H` or `--home=H` in a child's command; empty when it has none.
std::string home_argument(const ChildSpec& child);

/// Whether child `index` must be started from the data node's latest history segment: profile
/// vega, the set has a data node, `index` is another child (the core), and the spawn is a
/// restart that is neither visor's first start nor an upgrade.
bool needs_history_segment(const Options& options, std::size_t index, SpawnReason reason);

/// `<vega> datanode network-history latest-history-segment --output json [--home H]`, with
/// `vega_binary` the path of the data node's binary and H the data node's --home.
std::vector<std::string> history_segment_command(const std::string& vega_binary,
                                                 const ChildSpec& datanode);

/// `latest_segment.to_height` of the command's JSON output (a number or a decimal string);
/// an error that says why when the output is not JSON, names no segment, or nests too deep.
Result<std::uint64_t> parse_latest_history_segment(std::string_view output);

/// Runs the history query (no shell, bounded output, killed after `timeout`) and parses it.
/// A non-zero exit is an error carrying an excerpt of what the command printed.
Result<std::uint64_t> latest_history_segment(const std::vector<std::string>& argv,
                                             Duration timeout = Duration(30000));

/// What the core is started with on a non-upgrade restart: the flag and the height, or no
/// extra arguments and the line that says why (for the log).
struct CoreRestart {
  std::vector<std::string> extra_args;
  std::string note;
};
/// Turns the query's result into the core's extra arguments and one log line.
CoreRestart core_restart_from(const Result<std::uint64_t>& segment);

}  // namespace visor
