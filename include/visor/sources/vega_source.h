// The vega source: asks the Vega node itself, over its admin unix socket, whether the network
// has accepted a release and whether the node is ready to switch to it.
#pragma once

#include <boost/asio/io_context.hpp>

#include <optional>
#include <string>

#include "visor/common/worker.h"
#include "visor/config/options.h"
#include "visor/sources/http_fetch.h"
#include "visor/sources/polled_source.h"
#include "visor/sources/vega_status.h"

namespace visor {

/// Every --poll-interval: POST --vega-admin-path over the unix socket --vega-admin-socket with
/// Content-Type: application/json and vega_request_body(id), id counting up from 1; the reply's
/// id must match. A missing socket (the node is still starting) is not an error at first: it
/// is logged once at info level, and only reported through on_error when it is still missing
/// after the missing-socket grace (60 s by default); the next success re-arms both.
class VegaSource final : public PolledSource {
 public:
  /// Reads vega_admin_socket, vega_admin_path, poll_interval and request_timeout.
  VegaSource(boost::asio::io_context& io, Worker& worker, const Options& options,
             HttpFunction http = http_request);

  const char* name() const override { return "vega"; }

  /// The accepted release of the last good poll (tag, height, ReadyToUpgrade).
  NetworkView network() const override;

  /// How long a missing socket stays quiet before on_error hears of it; for tests and tuning.
  void set_missing_socket_grace(Duration grace) { missing_grace_ = grace; }
  /// The object named in messages, e.g. "/rpc on unix:/tmp/vega.sock".
  const std::string& object() const { return object_; }

 private:
  PollLoop::Fetch make_fetch() override;
  void handle(const FetchOutcome& outcome) override;
  bool has_reading() const override { return status_.has_value(); }
  UpgradeDecision decide() const override;
  void handle_missing_socket(const FetchOutcome& outcome);

  std::string socket_;
  std::string path_;
  std::string object_;
  Duration request_timeout_;
  HttpFunction http_;
  int next_id_ = 1;
  int pending_id_ = 0;                       ///< the id of the request in flight
  std::optional<VegaUpgradeStatus> status_;  ///< the last good reading
  Duration missing_grace_{60000};
  std::optional<TimePoint> missing_since_;  ///< set while the socket is missing
  bool missing_logged_ = false;             ///< the info line was written since the last success
  bool missing_reported_ = false;           ///< on_error heard of it since the last success
};

}  // namespace visor
