#include "visor/sources/source_factory.h"

#include "visor/sources/cosmos_source.h"
#include "visor/sources/lava_source.h"
#include "visor/sources/vega_source.h"

namespace visor {

std::unique_ptr<Source> make_source(boost::asio::io_context& io, Worker& worker,
                                    const Options& options) {
  switch (options.source) {
    case SourceKind::lava:
      return std::make_unique<LavaSource>(io, worker, options);
    case SourceKind::vega:
      return std::make_unique<VegaSource>(io, worker, options);
    case SourceKind::cosmos:
      return std::make_unique<CosmosSource>(io, worker, options);
    case SourceKind::none:
      return nullptr;
  }
  return nullptr;
}

std::string manual_request_path(const std::string& home) { return home + "/upgrade-request.json"; }

std::unique_ptr<Source> make_manual_source(boost::asio::io_context& io, Worker& worker,
                                           const Options& options, const std::string& home) {
  Options manual = options;
  manual.upgrade_info = manual_request_path(home);
  manual.poll_interval = Duration(1000);
  return std::make_unique<CosmosSource>(io, worker, manual);
}

}  // namespace visor
