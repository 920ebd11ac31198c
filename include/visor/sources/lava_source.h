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

/// Every --poll-interval: GET <lava-rest>/lavanet/lava/protocol/params, or with --node the
/// node's /status (checked against --chain-id) and the ABCI query of the params (protobuf);
/// each request with deadline --request-timeout and a 1 MiB cap; then decide_lava with
/// --lava-role and --upgrade-at. A node of another chain is a failed poll: nothing it says is
/// acted on.
/// A new current version (set_current_version) is judged at once against the last reading.
class LavaSource final : public PolledSource {
 public:
  /// Reads node (preferred when set), chain_id, lava_rest, lava_role, upgrade_at, poll_interval,
  /// request_timeout and ca_bundle.
  LavaSource(boost::asio::io_context& io, Worker& worker, const Options& options,
             HttpFunction http = http_request);

  const char* name() const override { return "lava"; }

  /// The URL polled, e.g. "http://127.0.0.1:1317/lavanet/lava/protocol/params" or
  /// "http://127.0.0.1:26657/abci_query?path=%22/lavanet.lava.protocol.Query/Params%22".
  const std::string& url() const { return url_; }
  /// The role's min and target of the last good poll; with --node also the chain id and height.
  NetworkView network() const override { return network_; }

 private:
  PollLoop::Fetch make_fetch() override;
  void handle(const FetchOutcome& outcome) override;
  bool has_reading() const override { return versions_.has_value(); }
  UpgradeDecision decide() const override;
  /// The params from a --node poll: chain checked, ABCI reply unwrapped, protobuf decoded.
  Result<LavaVersions> read_node(const FetchOutcome& outcome);

  std::string node_;
  std::string chain_id_;
  std::string url_;
  LavaRole role_;
  UpgradeAt policy_;
  Duration request_timeout_;
  std::string ca_bundle_;
  HttpFunction http_;
  std::optional<LavaVersions> versions_;  ///< the last good reading
  NetworkView network_;
};

}  // namespace visor
