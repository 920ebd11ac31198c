#include "visor/sources/lava_source.h"

#include <utility>

#include "visor/sources/cometbft_rpc.h"

namespace visor {

LavaSource::LavaSource(boost::asio::io_context& io, Worker& worker, const Options& options,
                       HttpFunction http)
    : PolledSource(io, worker, options.poll_interval),
      node_(options.node),
      chain_id_(options.chain_id),
      url_(options.node.empty() ? lava_params_url(options.lava_rest)
                                : abci_query_url(options.node, kLavaParamsQuery)),
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
  if (!node_.empty()) {
    return [http = http_, request = std::move(request), node = node_]() {
      return fetch_node_query(http, request, node, kLavaParamsQuery);
    };
  }
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
  auto parsed = node_.empty() ? parse_lava_params(outcome.body, role_) : read_node(outcome);
  // Before on_poll, which reads network(): what this poll saw.
  if (parsed) network_.asks = NetworkAsk{parsed->min, parsed->target, std::nullopt, false};
  polled(parsed.ok(), outcome);
  if (!running()) return;
  if (!parsed) {
    report_error("lava poll " + url_for_display(node_.empty() ? url_ : node_) + ": " +
                 parsed.error());
    return;
  }
  versions_ = std::move(parsed).value();
  accept_reading();
}

Result<LavaVersions> LavaSource::read_node(const FetchOutcome& outcome) {
  auto status = parse_node_status(outcome.node_status);
  if (!status) return Result<LavaVersions>::failure("/status: " + status.error());
  if (auto chain = check_chain(status.value(), chain_id_); !chain.ok()) {
    return Result<LavaVersions>::failure(chain.error());
  }
  network_.chain_id = status->chain_id;
  network_.chain_height = status->height;
  auto value = parse_abci_query(outcome.body);
  if (!value) return Result<LavaVersions>::failure(value.error());
  return decode_lava_params(value.value(), role_);
}

UpgradeDecision LavaSource::decide() const {
  return decide_lava(*versions_, policy_, current_version());
}

}  // namespace visor
