// Talking to systemd's notify socket: READY=1, STATUS=, WATCHDOG=1 and STOPPING=1.
//
// The watchdog is a timer on the daemon's io_context, so that it stops when the loop is stuck:
// systemd then restarts a visor that no longer does its job.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <optional>
#include <string>

#include "visor/common/clock.h"
#include "visor/common/live_status.h"

namespace visor {

/// The one-line summary systemd shows as the unit's status, e.g. "running lavap 5.2.1",
/// "backoff: restarting lavap", "running lavap 5.2.1; downloading 5.3.0 42%". Control characters
/// become spaces and the line is cut at 200 characters.
std::string status_summary(const LiveStatus& status);

class SystemdNotifier {
 public:
  /// Delivers one notification (lines like "READY=1\nSTATUS=..."); the test seam.
  using Send = std::function<void(const std::string& message)>;

  /// Sends to $NOTIFY_SOCKET (notify_socket.h): every message is a no-op when it is unset. The
  /// watchdog interval is half of WATCHDOG_USEC (as sd_watchdog_enabled reads it), none when unset.
  explicit SystemdNotifier(boost::asio::io_context& io);
  /// Sends through `send`, with a watchdog ping every `watchdog_interval` when given.
  SystemdNotifier(boost::asio::io_context& io, Send send,
                  std::optional<Duration> watchdog_interval);
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  /// Starts the watchdog pings (when enabled).
  void start();
  /// READY=1 the first time every child is up (every_child_up); STATUS= when the summary changed;
  /// STOPPING=1 once when the state becomes "stopping".
  void status_changed(const LiveStatus& status);
  /// STOPPING=1 (once) and no further watchdog pings.
  void stopping();
  /// The watchdog ping interval; nullopt when the watchdog is off.
  std::optional<Duration> watchdog_interval() const { return watchdog_interval_; }

 private:
  void schedule_watchdog();

  boost::asio::steady_timer timer_;
  Send send_;
  std::optional<Duration> watchdog_interval_;
  bool ready_sent_ = false;
  bool stopping_sent_ = false;
  bool watchdog_stopped_ = false;  ///< pings continue while the child is being stopped
  std::string last_summary_;
};

}  // namespace visor
