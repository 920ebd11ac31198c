#include "visor/sources/poll_loop.h"

#include <boost/asio/error.hpp>

#include <chrono>
#include <utility>

namespace visor {

PollLoop::PollLoop(boost::asio::io_context& io, Worker& worker, Duration interval)
    : worker_(worker), interval_(interval), timer_(io) {}

PollLoop::~PollLoop() {
  try {
    stop();
  } catch (...) {
    // cancelling a timer of a dying loop can only fail if the io_context is gone; nothing to do
  }
}

void PollLoop::start(MakeFetch make_fetch, Handler handler) {
  if (running_) return;
  make_fetch_ = std::move(make_fetch);
  handler_ = std::move(handler);
  running_ = true;
  in_flight_ = false;
  again_ = false;
  alive_ = std::make_shared<char>(0);
  launch();
}

void PollLoop::poll_now() {
  if (!running_) return;
  if (in_flight_) {
    again_ = true;
    return;
  }
  timer_.cancel();
  launch();
}

void PollLoop::stop() {
  running_ = false;
  alive_.reset();
  timer_.cancel();
}

void PollLoop::launch() {
  in_flight_ = true;
  again_ = false;
  Fetch fetch = make_fetch_();
  std::weak_ptr<char> alive = alive_;
  worker_.run(
      [fetch = std::move(fetch)]() {
        const auto started = SteadyClock::now();
        FetchOutcome outcome = fetch();
        outcome.latency_seconds =
            std::chrono::duration<double>(SteadyClock::now() - started).count();
        return outcome;
      },
      [this, alive](FetchOutcome outcome) {
        if (alive.expired()) return;  // stopped or destroyed meanwhile
        in_flight_ = false;
        handler_(std::move(outcome));
        if (alive.expired() || !running_) return;  // the handler stopped the loop
        if (again_) {
          launch();
        } else {
          schedule_next();
        }
      });
}

void PollLoop::schedule_next() {
  timer_.expires_after(interval_);
  std::weak_ptr<char> alive = alive_;
  timer_.async_wait([this, alive](const boost::system::error_code& error) {
    if (error == boost::asio::error::operation_aborted || alive.expired()) return;
    if (!running_ || in_flight_) return;
    launch();
  });
}

}  // namespace visor
