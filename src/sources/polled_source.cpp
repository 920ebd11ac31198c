#include "visor/sources/polled_source.h"

#include <utility>

#include "visor/common/log.h"

namespace visor {

PolledSource::PolledSource(boost::asio::io_context& io, Worker& worker, Duration poll_interval)
    : loop_(io, worker, poll_interval) {}

PolledSource::~PolledSource() {
  if (cancel_) cancel_->store(true);
}

void PolledSource::start(DecisionCallback on_decision, ErrorCallback on_error,
                         PollCallback on_poll) {
  if (running_) return;
  on_decision_ = std::move(on_decision);
  on_error_ = std::move(on_error);
  on_poll_ = std::move(on_poll);
  running_ = true;
  cancel_ = std::make_shared<std::atomic<bool>>(false);
  loop_.start([this] { return make_fetch(); },
              [this](const FetchOutcome& outcome) { handle(outcome); });
}

void PolledSource::set_current_version(const std::string& version) {
  if (version == current_version_) return;
  current_version_ = version;
  if (running_ && has_reading()) evaluate();
}

void PolledSource::stop() {
  if (cancel_) cancel_->store(true);
  running_ = false;
  loop_.stop();
}

void PolledSource::redeliver() {
  if (running_ && latch_.last() && on_decision_) on_decision_(*latch_.last());
}

void PolledSource::polled(bool ok, const FetchOutcome& outcome) {
  if (on_poll_) on_poll_(ok, outcome.latency_seconds);
}

void PolledSource::accept_reading() {
  errors_.clear();
  evaluate();
}

void PolledSource::evaluate() {
  UpgradeDecision decision = decide();
  if (!latch_.offer(decision)) return;
  log::debug("source_decision", std::string(name()) + ": " + decision.reason);
  if (on_decision_) on_decision_(decision);
}

void PolledSource::report_error(const std::string& line) {
  if (!admit_error(line, SteadyClock::now())) log::debug("source_error_repeated", line);
}

bool PolledSource::admit_error(const std::string& line, TimePoint now) {
  if (!errors_.admit(line, now)) return false;
  if (on_error_) on_error_(line);
  return true;
}

}  // namespace visor
