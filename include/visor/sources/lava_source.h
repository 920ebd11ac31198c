// The lava source: polls a Lava node's protocol params over REST and decides from the
// provider's or consumer's min/target versions.
#pragma once

#include <boost/asio/io_context.hpp>

#include <optional>
#include <string>

#include "visor/common/worker.h"
#include "visor/config/options.h"
#include "visor/sources/http_fetch.h"
#include "visor/sources/lava_params.h"
#include "visor/sources/poll_loop.h"
#include "visor/sources/reporting.h"
#include "visor/sources/source.h"

namespace visor {

/// Every --poll-interval: GET <lava-rest>/lavanet/lava/protocol/params (deadline
/// --request-timeout, 1 MiB cap), parse, decide_lava with --lava-role and --upgrade-at.
/// A new current version (set_current_version) is judged at once against the last reading.
class LavaSource final : public Source {
 public:
  /// Reads lava_rest, lava_role, upgrade_at, poll_interval, request_timeout and ca_bundle.
  LavaSource(boost::asio::io_context& io, Worker& worker, const Options& options,
             HttpFunction http = http_request);

  const char* name() const override { return "lava"; }
  void start(DecisionCallback on_decision, ErrorCallback on_error, PollCallback on_poll) override;
  void set_current_version(const std::string& version) override;
  void stop() override;
  void redeliver() override;

  /// The URL polled, e.g. "http://127.0.0.1:1317/lavanet/lava/protocol/params".
  const std::string& url() const { return url_; }

 private:
  void handle(const FetchOutcome& outcome);
  void evaluate();
  void report_error(const std::string& line);

  std::string url_;
  LavaRole role_;
  UpgradeAt policy_;
  Duration request_timeout_;
  std::string ca_bundle_;
  HttpFunction http_;
  PollLoop loop_;
  DecisionCallback on_decision_;
  ErrorCallback on_error_;
  PollCallback on_poll_;
  std::string current_version_;
  std::optional<LavaVersions> versions_;  ///< the last good reading
  DecisionLatch latch_;
  ErrorThrottle errors_;
  bool running_ = false;
};

}  // namespace visor
