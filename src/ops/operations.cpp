#include "visor/ops/operations.h"

#include "visor/ops/health_server.h"
#include "visor/ops/systemd_notifier.h"

namespace visor {

struct Operations::Impl {
  Impl(boost::asio::io_context& io, const Options& options, const LiveStatus& status)
      : options(options), status(status), notifier(io) {
    if (!options.health_listen.empty()) health = std::make_shared<HealthServer>(io, status);
  }

  const Options& options;
  const LiveStatus& status;
  SystemdNotifier notifier;
  std::shared_ptr<HealthServer> health;  ///< null without --health-listen
  bool stopped = false;
};

Operations::Operations(boost::asio::io_context& io, const Options& options,
                       const LiveStatus& status)
    : impl_(std::make_unique<Impl>(io, options, status)) {}

Operations::~Operations() {
  // Nothing may outlive the LiveStatus: close the sockets and cancel the timer, without
  // telling systemd anything (stopping() does that on a real stop).
  if (impl_->health) impl_->health->stop();
}

Status Operations::start() {
  if (impl_->health) {
    if (Status listening = impl_->health->listen(impl_->options.health_listen); !listening) {
      return listening;
    }
  }
  impl_->notifier.start();
  return {};
}

void Operations::status_changed() {
  if (impl_->stopped) return;
  impl_->notifier.status_changed(impl_->status);
}

void Operations::stopping() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->notifier.stopping();
  if (impl_->health) impl_->health->stop();
}

std::optional<unsigned short> Operations::health_port() const {
  if (!impl_->health) return std::nullopt;
  return impl_->health->local_endpoint().port();
}

}  // namespace visor
