#include "visor/ops/systemd_notifier.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "visor/common/log.h"
#include "visor/common/outside_text.h"
#include "visor/common/result.h"
#include "visor/ops/notify_socket.h"

namespace visor {
namespace {

constexpr std::size_t kMaxSummaryLength = 200;

void send_to_notify_socket(const std::string& message) {
  const Status sent = notify_socket_send(message);
  if (!sent) {
    // Not fatal: visor keeps supervising even if systemd cannot hear it.
    log::warn("sd_notify_failed",
              "sd_notify(" + message.substr(0, message.find('\n')) + "): " + sent.error());
  }
}

std::optional<Duration> watchdog_interval_from_environment() {
  const auto usec =
      watchdog_usec_from(std::getenv("WATCHDOG_USEC"), std::getenv("WATCHDOG_PID"), ::getpid());
  if (!usec) {
    log::warn("watchdog_config", "the watchdog is off: " + usec.error());
    return std::nullopt;
  }
  if (!*usec) return std::nullopt;
  // Half the timeout, as sd_watchdog_enabled(3) recommends; at least 1 ms and at most a day (a
  // larger value would overflow the timer's nanoseconds and mean no watchdog in practice).
  constexpr std::uint64_t kMaxMilliseconds = 24ULL * 3600 * 1000;
  const std::uint64_t half = std::min<std::uint64_t>(**usec / 2000, kMaxMilliseconds);
  return Duration(static_cast<Duration::rep>(half > 0 ? half : 1));
}

}  // namespace

std::string status_summary(const LiveStatus& status) {
  const std::string name = status.binary.empty() ? "the child" : status.binary;
  const std::string version = status.current_version.empty() ? "" : " " + status.current_version;
  std::string summary;
  switch (status.state) {
    case LiveState::running:
      summary = "running " + name + version;
      break;
    case LiveState::probation:
      summary = "running " + name + version + " (on probation)";
      break;
    case LiveState::backoff:
      summary = "backoff: restarting " + name;
      break;
    case LiveState::starting:
      summary = "starting " + name + version;
      break;
    case LiveState::stopping:
      summary = "stopping " + name;
      break;
    case LiveState::upgrading:
      summary = "upgrading " + name +
                (status.upgrade_target.empty() ? std::string() : " to " + status.upgrade_target);
      break;
    case LiveState::held:
      summary = "held for the upgrade" +
                (status.upgrade_target.empty() ? std::string() : " to " + status.upgrade_target) +
                " (" + to_string(status.upgrade_stage) + ")";
      break;
    case LiveState::rolling_back:
      summary = "rolling back " + name +
                (status.upgrade_target.empty() ? std::string() : " from " + status.upgrade_target);
      break;
    case LiveState::exited:
      summary = to_string(status.state);
      break;
  }
  if (status.upgrade_in_progress && status.download_percent >= 0 &&
      !status.upgrade_target.empty()) {
    summary += "; downloading " + status.upgrade_target + " " +
               std::to_string(status.download_percent) + "%";
  }
  if (status.children.size() > 1) {  // a set: name each child and its state
    summary += " [";
    for (std::size_t index = 0; index < status.children.size(); ++index) {
      if (index > 0) summary += ", ";
      summary += status.children[index].name + " " + to_string(status.children[index].state);
    }
    summary += "]";
  }
  if (!status.last_error.empty()) summary += "; " + status.last_error;
  // One line of valid UTF-8 (a newline would end the STATUS= assignment), bounded.
  return outside_text(summary, kMaxSummaryLength - kExcerptMarkerBytes);
}

SystemdNotifier::SystemdNotifier(boost::asio::io_context& io)
    : SystemdNotifier(io, send_to_notify_socket, watchdog_interval_from_environment()) {}

SystemdNotifier::SystemdNotifier(boost::asio::io_context& io, Send send,
                                 std::optional<Duration> watchdog_interval)
    : timer_(io), send_(std::move(send)), watchdog_interval_(watchdog_interval) {}

void SystemdNotifier::start() {
  if (!watchdog_interval_) return;
  log::debug("watchdog",
             "sending WATCHDOG=1 every " + std::to_string(watchdog_interval_->count()) + "ms");
  schedule_watchdog();
}

void SystemdNotifier::schedule_watchdog() {
  timer_.expires_after(*watchdog_interval_);
  timer_.async_wait([this](const boost::system::error_code& error) {
    if (error || watchdog_stopped_) return;  // cancelled: visor is stopping
    send_("WATCHDOG=1");
    schedule_watchdog();
  });
}

void SystemdNotifier::status_changed(const LiveStatus& status) {
  std::string message;
  // Ready once every child is up, or when visor (re)started during a network halt and holds the
  // node for its upgrade: waiting for the binary can outlast systemd's start timeout, which would
  // kill visor in the middle of the upgrade.
  if ((every_child_up(status) || status.state == LiveState::held) && !ready_sent_) {
    ready_sent_ = true;
    message += "READY=1\n";
  }
  std::string summary = status_summary(status);
  if (summary != last_summary_) {
    message += "STATUS=" + summary + "\n";
    last_summary_ = std::move(summary);
  }
  if (status.state == LiveState::stopping && !stopping_sent_) {
    stopping_sent_ = true;
    message += "STOPPING=1\n";
  }
  if (message.empty()) return;
  message.pop_back();  // no trailing newline
  send_(message);
}

void SystemdNotifier::stopping() {
  watchdog_stopped_ = true;
  timer_.cancel();
  if (stopping_sent_) return;
  stopping_sent_ = true;
  send_("STOPPING=1");
}

}  // namespace visor
