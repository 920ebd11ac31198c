#include "visor/sources/lava_source.h"

#include <utility>

#include "visor/common/log.h"

namespace visor {

LavaSource::LavaSource(boost::asio::io_context& io, Worker& worker, const Options& options,
                       HttpFunction http)
    : url_(lava_params_url(options.lava_rest)),
      role_(options.lava_role),
      policy_(options.upgrade_at),
      request_timeout_(options.request_timeout),
      ca_bundle_(options.ca_bundle),
      http_(std::move(http)),
      loop_(io, worker, options.poll_interval) {}

void LavaSource::start(DecisionCallback on_decision, ErrorCallback on_error, PollCallback on_poll) {
  if (running_) return;
  on_decision_ = std::move(on_decision);
  on_error_ = std::move(on_error);
  on_poll_ = std::move(on_poll);
  running_ = true;
  loop_.start(
      [this]() -> PollLoop::Fetch {
        HttpRequest request;
        request.url = url_;
        request.method = "GET";
        request.headers = {"Accept: application/json"};
        request.timeout = request_timeout_;
        request.max_body = kSourceReplyLimit;
        request.allow_http = true;  // a node's REST port is often plain http on a private network
        request.ca_bundle = ca_bundle_;
        return [http = http_, request = std::move(request), object = url_for_display(url_)]() {
          return fetch_http(http, request, object);
        };
      },
      [this](const FetchOutcome& outcome) { handle(outcome); });
}

void LavaSource::set_current_version(const std::string& version) {
  if (version == current_version_) return;
  current_version_ = version;
  if (running_ && versions_) evaluate();
}

void LavaSource::stop() {
  running_ = false;
  loop_.stop();
}

void LavaSource::redeliver() {
  if (running_ && latch_.last() && on_decision_) on_decision_(*latch_.last());
}

void LavaSource::handle(const FetchOutcome& outcome) {
  if (outcome.kind != FetchOutcome::Kind::ok) {
    if (on_poll_) on_poll_(false, outcome.latency_seconds);
    if (running_) report_error("lava poll " + outcome.error);
    return;
  }
  auto parsed = parse_lava_params(outcome.body, role_);
  if (on_poll_) on_poll_(parsed.ok(), outcome.latency_seconds);
  if (!running_) return;
  if (!parsed) {
    report_error("lava poll " + url_for_display(url_) + ": " + parsed.error());
    return;
  }
  errors_.clear();
  versions_ = std::move(parsed).value();
  evaluate();
}

void LavaSource::evaluate() {
  UpgradeDecision decision = decide_lava(*versions_, policy_, current_version_);
  if (!latch_.offer(decision)) return;
  log::debug("source_decision", "lava: " + decision.reason);
  if (on_decision_) on_decision_(decision);
}

void LavaSource::report_error(const std::string& line) {
  if (!errors_.admit(line, SteadyClock::now())) {
    log::debug("source_error_repeated", line);
    return;
  }
  if (on_error_) on_error_(line);
}

}  // namespace visor
