#include "visor/sources/vega_source.h"

#include <sys/stat.h>

#include <cerrno>
#include <utility>

#include "visor/common/log.h"
#include "visor/config/duration.h"

namespace visor {

VegaSource::VegaSource(boost::asio::io_context& io, Worker& worker, const Options& options,
                       HttpFunction http)
    : socket_(options.vega_admin_socket),
      path_(options.vega_admin_path),
      object_(options.vega_admin_path + " on unix:" + options.vega_admin_socket),
      request_timeout_(options.request_timeout),
      http_(std::move(http)),
      loop_(io, worker, options.poll_interval) {}

void VegaSource::start(DecisionCallback on_decision, ErrorCallback on_error, PollCallback on_poll) {
  if (running_) return;
  on_decision_ = std::move(on_decision);
  on_error_ = std::move(on_error);
  on_poll_ = std::move(on_poll);
  running_ = true;
  loop_.start(
      [this]() -> PollLoop::Fetch {
        pending_id_ = next_id_;
        next_id_ = next_id_ == 1'000'000'000 ? 1 : next_id_ + 1;
        HttpRequest request;
        request.url = "http://localhost" + path_;
        request.method = "POST";
        request.body = vega_request_body(pending_id_);
        request.headers = {"Content-Type: application/json", "Accept: application/json"};
        request.unix_socket = socket_;
        request.timeout = request_timeout_;
        request.max_body = kSourceReplyLimit;
        return [http = http_, request = std::move(request), object = object_]() {
          // A node that is still starting has no socket yet: tell that apart from a failure.
          struct stat info {};
          if (::stat(request.unix_socket.c_str(), &info) != 0 &&
              (errno == ENOENT || errno == ENOTDIR)) {
            FetchOutcome absent;
            absent.kind = FetchOutcome::Kind::absent;
            absent.error = object + ": socket does not exist";
            return absent;
          }
          return fetch_http(http, request, object);
        };
      },
      [this](const FetchOutcome& outcome) { handle(outcome); });
}

void VegaSource::set_current_version(const std::string& version) {
  if (version == current_version_) return;
  current_version_ = version;
  if (running_ && status_) evaluate();
}

void VegaSource::stop() {
  running_ = false;
  loop_.stop();
}

void VegaSource::redeliver() {
  if (running_ && latch_.last() && on_decision_) on_decision_(*latch_.last());
}

void VegaSource::handle(const FetchOutcome& outcome) {
  if (outcome.kind == FetchOutcome::Kind::absent) {
    if (on_poll_) on_poll_(false, outcome.latency_seconds);
    if (running_) handle_missing_socket(outcome);
    return;
  }
  missing_since_.reset();
  if (outcome.kind == FetchOutcome::Kind::failed) {
    if (on_poll_) on_poll_(false, outcome.latency_seconds);
    if (running_) report_error("vega poll " + outcome.error);
    return;
  }
  auto parsed = parse_vega_reply(outcome.body, pending_id_);
  if (on_poll_) on_poll_(parsed.ok(), outcome.latency_seconds);
  if (!running_) return;
  if (!parsed) {
    report_error("vega poll " + object_ + ": " + parsed.error());
    return;
  }
  errors_.clear();
  missing_logged_ = false;
  missing_reported_ = false;
  status_ = std::move(parsed).value();
  evaluate();
}

void VegaSource::handle_missing_socket(const FetchOutcome& outcome) {
  const TimePoint now = SteadyClock::now();
  if (!missing_since_) {
    missing_since_ = now;
    if (!missing_logged_) {
      missing_logged_ = true;
      log::info("source_waiting", "vega admin socket " + socket_ +
                                      " does not exist yet (node starting?); waiting for it");
    }
    return;
  }
  if (!missing_reported_ && now - *missing_since_ >= missing_grace_) {
    missing_reported_ = true;
    const std::string line = "vega poll " + outcome.error + " (still missing after " +
                             format_duration(missing_grace_) + ")";
    if (errors_.admit(line, now) && on_error_) on_error_(line);
  }
}

void VegaSource::evaluate() {
  UpgradeDecision decision = decide_vega(*status_, current_version_);
  if (!latch_.offer(decision)) return;
  log::debug("source_decision", "vega: " + decision.reason);
  if (on_decision_) on_decision_(decision);
}

void VegaSource::report_error(const std::string& line) {
  if (!errors_.admit(line, SteadyClock::now())) {
    log::debug("source_error_repeated", line);
    return;
  }
  if (on_error_) on_error_(line);
}

}  // namespace visor
