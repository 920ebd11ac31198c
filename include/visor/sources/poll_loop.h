// The polling engine the sources share: one blocking fetch at a time on the Worker, the next one
// an interval after the previous finished, results handled on the main io_context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <string>

#include "visor/common/clock.h"
#include "visor/common/worker.h"

namespace visor {

/// What one fetch found.
struct FetchOutcome {
  enum class Kind {
    ok,      ///< `body` holds the payload
    absent,  ///< the object is not there yet (a missing socket or file); `error` says which
    failed,  ///< `error` holds one line: the operation, the object and the cause
  };
  Kind kind = Kind::failed;
  std::string body;
  std::string error;
  int http_status = 0;         ///< the HTTP status of a reply, 0 when there was none
  double latency_seconds = 0;  ///< time spent in the fetch itself (set by PollLoop)

  /// A failed fetch with `error` as its one line (also what an escaping exception becomes).
  static FetchOutcome failure(std::string error) {
    FetchOutcome outcome;
    outcome.kind = Kind::failed;
    outcome.error = std::move(error);
    return outcome;
  }
};

/// Runs fetches: the first one at start(), then one `interval` after each completes, so that
/// fetches never overlap and a slow endpoint only slows the loop down.
class PollLoop {
 public:
  /// A self-contained job for the worker thread: it must not touch the owner's members.
  using Fetch = std::function<FetchOutcome()>;
  /// Builds the next fetch; runs on the main thread just before each fetch.
  using MakeFetch = std::function<Fetch()>;
  /// Receives each outcome on the main thread.
  using Handler = std::function<void(FetchOutcome)>;

  PollLoop(boost::asio::io_context& io, Worker& worker, Duration interval);
  ~PollLoop();
  PollLoop(const PollLoop&) = delete;
  PollLoop& operator=(const PollLoop&) = delete;

  /// Starts the loop with a first fetch right away; a no-op while running.
  void start(MakeFetch make_fetch, Handler handler);
  /// Fetches as soon as possible: now when idle, right after the running fetch otherwise.
  /// Several calls while one fetch runs lead to one extra fetch.
  void poll_now();
  /// Stops the loop; a fetch still running on the worker is left to finish and its outcome is
  /// dropped. The handler never runs after stop() returns.
  void stop();
  /// True between start() and stop().
  bool running() const { return running_; }

 private:
  void launch();
  void schedule_next();

  Worker& worker_;
  Duration interval_;
  boost::asio::steady_timer timer_;
  MakeFetch make_fetch_;
  Handler handler_;
  bool running_ = false;
  bool in_flight_ = false;
  bool again_ = false;
  /// Expires at stop() and destruction: late timer and worker completions check it first.
  std::shared_ptr<char> alive_;
};

}  // namespace visor
