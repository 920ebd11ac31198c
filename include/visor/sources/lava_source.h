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
#include "visor/sources/polled_source.h"

namespace visor {

/// Every --poll-interval: GET <lava-rest>/lavanet/lava/protocol/params (deadline
/// --request-timeout, 1 MiB cap), parse, decide_lava with --lava-role and --upgrade-at.
/// A new current version (set_current_version) is judged at once against the last reading.
class LavaSource final : public PolledSource {
 public:
  /// Reads lava_rest, lava_role, upgrade_at, poll_interval, request_timeout and ca_bundle.
  LavaSource(boost::asio::io_context& io, Worker& worker, const Options& options,
             HttpFunction http = http_request);

  const char* name() const override { return "lava"; }

  /// The URL polled, e.g. "http://127.0.0.1:1317/lavanet/lava/protocol/params".
  const std::string& url() const { return url_; }

 private:
  PollLoop::Fetch make_fetch() override;
  void handle(const FetchOutcome& outcome) override;
  bool has_reading() const override { return versions_.has_value(); }
  UpgradeDecision decide() const override;

  std::string url_;
  LavaRole role_;
  UpgradeAt policy_;
  Duration request_timeout_;
  std::string ca_bundle_;
  HttpFunction http_;
  std::optional<LavaVersions> versions_;  ///< the last good reading
};

}  // namespace visor
