// The operations side of the daemon: systemd notifications, the health/metrics endpoint.
// The daemon owns a LiveStatus, updates it on the main thread, and tells Operations when it did.
#pragma once

#include <boost/asio/io_context.hpp>

#include <memory>
#include <optional>

#include "visor/common/live_status.h"
#include "visor/common/result.h"
#include "visor/config/options.h"

namespace visor {

class Operations {
 public:
  /// `status` must outlive this object; it is read on the io_context's thread only.
  Operations(boost::asio::io_context& io, const Options& options, const LiveStatus& status);
  ~Operations();
  Operations(const Operations&) = delete;
  Operations& operator=(const Operations&) = delete;

  /// Opens the health listener (--health-listen) and starts the systemd watchdog
  /// (WATCHDOG_USEC). Fails when the listener cannot be opened.
  Status start();
  /// The LiveStatus changed: send READY=1 the first time the child is up, and a STATUS= line
  /// when the summary changed.
  void status_changed();
  /// visor is stopping: STOPPING=1, close the listener, stop the watchdog. Idempotent.
  void stopping();
  /// The port the health endpoint listens on; nullopt when it is off.
  std::optional<unsigned short> health_port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace visor
