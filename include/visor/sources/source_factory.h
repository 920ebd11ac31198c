// Picks the upgrade source that --source names.
#pragma once

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>

#include "visor/common/worker.h"
#include "visor/config/options.h"
#include "visor/sources/source.h"

namespace visor {

/// The source for options.source, ready to start(): lava, vega or cosmos with their production
/// settings (real HTTP client, inotify); nullptr for SourceKind::none. `io` and `worker` must
/// outlive the source. Blocking requests run on `worker`, so a long job queued there (a large
/// download) delays polls: give sources a Worker of their own when that matters.
std::unique_ptr<Source> make_source(boost::asio::io_context& io, Worker& worker,
                                    const Options& options);

/// Where `visor add-upgrade` asks a running visor with --source none to switch: a file in the
/// format of Cosmos's upgrade-info.json ({"name": "<version>", "height": <request id>}).
std::string manual_request_path(const std::string& home);

/// For --source none: a Cosmos watcher (inotify, 1 s fallback poll) of manual_request_path(home),
/// so that manual upgrades take the same path as a network's.
std::unique_ptr<Source> make_manual_source(boost::asio::io_context& io, Worker& worker,
                                           const Options& options, const std::string& home);

}  // namespace visor
