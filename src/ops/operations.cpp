#include "visor/ops/operations.h"

namespace visor {

// Placeholder until the systemd and health endpoint work lands.
struct Operations::Impl {};

Operations::Operations(boost::asio::io_context&, const Options&, const LiveStatus&)
    : impl_(std::make_unique<Impl>()) {}
Operations::~Operations() = default;
Status Operations::start() { return {}; }
void Operations::status_changed() {}
void Operations::stopping() {}

}  // namespace visor
