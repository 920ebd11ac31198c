#include "visor/sources/vega_source.h"

#include <sys/stat.h>

#include <cerrno>
#include <utility>

#include "visor/common/log.h"
#include "visor/config/duration.h"

namespace visor {

VegaSource::VegaSource(boost::asio::io_context& io, Worker& worker, const Options& options,
                       HttpFunction http)
    : PolledSource(io, worker, options.poll_interval),
      socket_(options.vega_admin_socket),
      path_(options.vega_admin_path),
      object_(options.vega_admin_path + " on unix:" + options.vega_admin_socket),
      request_timeout_(options.request_timeout),
      http_(std::move(http)) {}

PollLoop::Fetch VegaSource::make_fetch() {
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
  request.cancel = cancel_flag();
  return [http = http_, request = std::move(request), object = object_]() {
    // A node that is still starting has no socket yet: tell that apart from a failure.
    struct stat info {};
    if (::stat(request.unix_socket.c_str(), &info) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
      FetchOutcome absent;
      absent.kind = FetchOutcome::Kind::absent;
      absent.error = object + ": socket does not exist";
      return absent;
    }
    return fetch_http(http, request, object);
  };
}

void VegaSource::handle(const FetchOutcome& outcome) {
  if (outcome.kind == FetchOutcome::Kind::absent) {
    polled(false, outcome);
    if (running()) handle_missing_socket(outcome);
    return;
  }
  missing_since_.reset();
  if (outcome.kind == FetchOutcome::Kind::failed) {
    polled(false, outcome);
    if (running()) report_error("vega poll " + outcome.error);
    return;
  }
  auto parsed = parse_vega_reply(outcome.body, pending_id_);
  if (parsed) status_ = parsed.value();  // before on_poll, which reads network()
  polled(parsed.ok(), outcome);
  if (!running()) return;
  if (!parsed) {
    report_error("vega poll " + object_ + ": " + parsed.error());
    return;
  }
  missing_logged_ = false;
  missing_reported_ = false;
  accept_reading();
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
    admit_error(line, now);
  }
}

NetworkView VegaSource::network() const {
  NetworkView view;
  if (!status_) return view;
  NetworkAsk asks;
  asks.target_version = status_->release_tag;
  if (status_->accepted()) asks.upgrade_height = status_->upgrade_height;
  asks.ready_to_upgrade = status_->ready_to_upgrade;
  view.asks = std::move(asks);
  return view;
}

UpgradeDecision VegaSource::decide() const { return decide_vega(*status_, current_version()); }

}  // namespace visor
