// Picks the upgrade source that --source names.
#pragma once

#include <boost/asio/io_context.hpp>

#include <memory>

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

}  // namespace visor
