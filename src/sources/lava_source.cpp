#include "visor/sources/lava_source.h"

#include <utility>

namespace visor {

LavaSource::LavaSource(boost::asio::io_context& io, Worker& worker, const Options& options,
                       HttpFunction http)
    : PolledSource(io, worker, options.poll_interval),
      url_(lava_params_url(options.lava_rest)),
      role_(options.lava_role),
      policy_(options.upgrade_at),
      request_timeout_(options.request_timeout),
      ca_bundle_(options.ca_bundle),
      http_(std::move(http)) {}

PollLoop::Fetch LavaSource::make_fetch() {
  HttpRequest request;
  request.url = url_;
  request.method = "GET";
  request.headers = {"Accept: application/json"};
  request.timeout = request_timeout_;
  request.max_body = kSourceReplyLimit;
  request.allow_http = true;  // a node's REST port is often plain http on a private network
  request.ca_bundle = ca_bundle_;
  request.cancel = cancel_flag();
  return [http = http_, request = std::move(request), object = url_for_display(url_)]() {
    return fetch_http(http, request, object);
  };
}

void LavaSource::handle(const FetchOutcome& outcome) {
  if (outcome.kind != FetchOutcome::Kind::ok) {
    polled(false, outcome);
    if (running()) report_error("lava poll " + outcome.error + lava_rest_hint(outcome.http_status));
    return;
  }
  auto parsed = parse_lava_params(outcome.body, role_);
  polled(parsed.ok(), outcome);
  if (!running()) return;
  if (!parsed) {
    report_error("lava poll " + url_for_display(url_) + ": " + parsed.error());
    return;
  }
  versions_ = std::move(parsed).value();
  accept_reading();
}

UpgradeDecision LavaSource::decide() const {
  return decide_lava(*versions_, policy_, current_version());
}

}  // namespace visor
