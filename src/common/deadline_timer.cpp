#include "visor/common/deadline_timer.h"

#include <utility>

namespace visor {

DeadlineTimer::DeadlineTimer(boost::asio::io_context& io, std::function<void()> on_due)
    : timer_(io), on_due_(std::move(on_due)) {}

DeadlineTimer::~DeadlineTimer() { *alive_ = false; }

void DeadlineTimer::arm(std::optional<TimePoint> deadline) {
  if (deadline == armed_) return;
  armed_ = deadline;
  timer_.cancel();
  if (!deadline) return;
  timer_.expires_at(*deadline);
  timer_.async_wait([this, alive = alive_, deadline](const boost::system::error_code& error) {
    if (error || !*alive || armed_ != deadline) return;  // cancelled, gone or superseded
    armed_.reset();
    on_due_();
  });
}

}  // namespace visor
