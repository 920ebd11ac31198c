// One timer kept at the deadline a decision table asks for (Lifecycle::deadline(),
// UpgradePlanner::deadline()): the table says when, this arms an Asio timer for it and reports
// back once when it passes. A deadline asked for again changes nothing; a new one replaces it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <optional>

#include "visor/common/clock.h"

namespace visor {

class DeadlineTimer {
 public:
  /// `on_due` runs on `io`'s thread when an armed deadline passes, once per deadline.
  DeadlineTimer(boost::asio::io_context& io, std::function<void()> on_due);
  ~DeadlineTimer();
  DeadlineTimer(const DeadlineTimer&) = delete;
  DeadlineTimer& operator=(const DeadlineTimer&) = delete;

  /// Waits for `deadline` (nullopt: for nothing). The deadline already armed is left running.
  void arm(std::optional<TimePoint> deadline);
  /// Waits for nothing any more.
  void cancel() { arm(std::nullopt); }

 private:
  boost::asio::steady_timer timer_;
  std::function<void()> on_due_;
  std::optional<TimePoint> armed_;
  /// False once this is destroyed: a wait that completed just before must not touch it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace visor
