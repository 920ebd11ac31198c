// What the polled sources (lava, vega) have in common: the poll loop, the callbacks, the
// current version, delivering a decision only when it changes, and throttled error lines.
// A subclass says how to build one fetch, how to read its outcome, and what to decide.
#pragma once

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <memory>
#include <string>

#include "visor/common/clock.h"
#include "visor/common/worker.h"
#include "visor/sources/poll_loop.h"
#include "visor/sources/reporting.h"
#include "visor/sources/source.h"

namespace visor {

class PolledSource : public Source {
 public:
  PolledSource(boost::asio::io_context& io, Worker& worker, Duration poll_interval);
  /// A request still in flight is cancelled, so that the worker's join does not wait for it.
  ~PolledSource() override;

  void start(DecisionCallback on_decision, ErrorCallback on_error, PollCallback on_poll) final;
  /// Judges the last reading again at once when the version differs from the one known.
  void set_current_version(const std::string& version) final;
  void stop() final;
  void redeliver() final;

 protected:
  /// The next request, as a self-contained job for the worker thread (main thread).
  virtual PollLoop::Fetch make_fetch() = 0;
  /// One outcome (main thread): call polled(), then accept_reading() or report_error().
  virtual void handle(const FetchOutcome& outcome) = 0;
  /// True once a good reading was accepted.
  virtual bool has_reading() const = 0;
  /// The decision for the last reading and the current version.
  virtual UpgradeDecision decide() const = 0;

  /// Tells on_poll how the poll went.
  void polled(bool ok, const FetchOutcome& outcome);
  /// After a good reading: errors are forgotten and the reading is judged.
  void accept_reading();
  /// One failure line to on_error, repeated at most once a minute while it persists.
  void report_error(const std::string& line);
  /// Hands `line` to on_error when the throttle lets it through (at `now`); true if it did.
  bool admit_error(const std::string& line, TimePoint now);

  bool running() const { return running_; }
  const std::string& current_version() const { return current_version_; }
  /// Set by stop(): a request in flight gives up within about a second (HttpRequest::cancel),
  /// so that visor's exit never waits out --request-timeout.
  std::shared_ptr<const std::atomic<bool>> cancel_flag() const { return cancel_; }

 private:
  void evaluate();

  PollLoop loop_;
  DecisionCallback on_decision_;
  ErrorCallback on_error_;
  PollCallback on_poll_;
  std::string current_version_;
  DecisionLatch latch_;
  ErrorThrottle errors_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  bool running_ = false;
};

}  // namespace visor
