// The cosmos source: watches the upgrade-info.json that a Cosmos SDK chain's x/upgrade writes
// when it halts for a plan.
#pragma once

#include <sys/inotify.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "visor/common/worker.h"
#include "visor/config/options.h"
#include "visor/sources/cometbft_rpc.h"
#include "visor/sources/http_fetch.h"
#include "visor/sources/poll_loop.h"
#include "visor/sources/reporting.h"
#include "visor/sources/source.h"
#include "visor/sources/upgrade_info.h"

namespace visor {

/// How the cosmos source notices a change of the file.
struct CosmosWatchSettings {
  /// Re-read interval when no event comes (a missed event, a filesystem without inotify).
  Duration fallback_poll{10000};
  /// Watch the file's directory with inotify; false: rely on fallback_poll alone.
  bool use_inotify = true;
  /// The defaults for `options`: inotify on, fallback poll max(10 x --poll-interval, 5 s), so
  /// the default 1s interval re-reads every 10 s while inotify reacts at once.
  static CosmosWatchSettings from(const Options& options);
};

/// Watches the DIRECTORY of --upgrade-info with inotify (IN_CLOSE_WRITE | IN_MOVED_TO |
/// IN_CREATE) on the main io_context, so that a file created later or replaced by rename is
/// seen, and re-reads on the fallback poll; a lost watch (directory missing, moved, deleted)
/// is re-armed on each fallback poll. The file is read on the worker (regular files only, 1 MiB
/// cap); a missing file is normal (no plan yet); content that does not parse is ignored until
/// it does, and reported only when the same content still fails a fallback interval later.
/// Each plan (name, height) is delivered at most once per process; plans given to mark_done()
/// and plans whose version is not above the current version are never delivered. Decisions
/// from the file always have activate = true and plan set (see decide_cosmos); call
/// set_current_version() before start().
///
/// With --node, the scheduled plan is also read every --poll-interval (the node's /status,
/// checked against --chain-id, then the ABCI query of CurrentPlan) and each new plan above the
/// current version is delivered once as a pre-stage decision (activate = false), so that its
/// binary is fetched long before the chain halts; a plan already delivered from the file is not
/// pre-staged. With --plan-downloads off, decisions carry no URL from the plan's `info`. Under
/// --source none (the manual source) the plan poll only reports the chain.
class CosmosSource final : public Source {
 public:
  /// Reads upgrade_info, poll_interval, node, chain_id, plan_downloads, request_timeout and
  /// ca_bundle.
  CosmosSource(boost::asio::io_context& io, Worker& worker, const Options& options);
  CosmosSource(boost::asio::io_context& io, Worker& worker, const Options& options,
               CosmosWatchSettings settings);
  ~CosmosSource() override;

  const char* name() const override { return "cosmos"; }
  void start(DecisionCallback on_decision, ErrorCallback on_error, PollCallback on_poll) override;
  void set_current_version(const std::string& version) override;
  void stop() override;
  /// Delivers the last delivered plan again, unless it was marked done since.
  void redeliver() override;
  void mark_done(const std::string& plan, std::uint64_t height) override;
  /// Reads the file now (regular files only, 1 MiB cap): the plan it names, unless carried out.
  std::optional<UpgradeDecision> read_now() override;

  /// The watched file.
  const std::string& path() const { return path_; }
  /// True while the inotify watch is armed.
  bool watching() const { return events_.is_open(); }
  /// With --node: the chain id and height and the scheduled plan of the last good plan poll.
  NetworkView network() const override;

 private:
  using PlanKey = std::pair<std::string, std::uint64_t>;

  void arm_watch();
  void drop_watch();
  void read_events();
  void on_events(std::size_t bytes);
  void handle(const FetchOutcome& outcome);
  /// Remembers content that does not parse; true when it has stayed so (then it is reported).
  bool handle_unparsable(const std::string& body, const std::string& error);
  void report_error(const std::string& line);
  /// The plan poll's next request (--node).
  PollLoop::Fetch make_plan_fetch();
  void handle_plan(const FetchOutcome& outcome);
  /// After a plan poll: when the plan last delivered for pre-staging is no longer the scheduled
  /// one, delivers "nothing wanted" (unless the chain halted for it or it was carried out).
  void withdraw_prestaging();
  /// The scheduled plan from a plan poll's replies: chain checked, protobuf decoded.
  Result<std::optional<UpgradeInfo>> read_plan(const FetchOutcome& outcome);
  /// Drops what a plan's `info` offers for download when --plan-downloads is off.
  void apply_plan_downloads(UpgradeDecision& decision) const;

  std::string path_;
  std::string node_;
  std::string chain_id_;
  bool plan_downloads_ = true;
  /// Pre-stage scheduled plans (--source cosmos); false for the manual source of --source none,
  /// whose plan poll only reports the chain (height, plan) for status and add-upgrade --height.
  bool prestage_plans_ = true;
  Duration request_timeout_;
  std::string ca_bundle_;
  HttpFunction http_ = http_request;
  std::string directory_;
  std::string file_name_;
  CosmosWatchSettings settings_;
  PollLoop loop_;
  std::unique_ptr<PollLoop> plan_loop_;  ///< with --node only
  boost::asio::posix::stream_descriptor events_;
  alignas(struct inotify_event) std::array<char, 16384> event_buffer_{};
  DecisionCallback on_decision_;
  ErrorCallback on_error_;
  PollCallback on_poll_;
  std::string current_version_;
  std::set<PlanKey> acted_;      ///< delivered by this process
  std::set<PlanKey> done_;       ///< carried out, per mark_done()
  std::set<PlanKey> prestaged_;  ///< scheduled plans delivered for pre-staging
  /// The scheduled plan whose pre-staging decision was the last one delivered.
  std::optional<PlanKey> prestaging_;
  std::optional<UpgradeInfo> scheduled_;
  std::optional<NodeStatus> node_status_;
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
  std::optional<UpgradeDecision> last_;
  std::optional<PlanKey> last_skipped_;  ///< to log a skipped plan once
  std::string bad_body_;                 ///< the last content that did not parse
  std::optional<TimePoint> bad_since_;
  bool watch_failure_reported_ = false;
  ErrorThrottle errors_;
  bool running_ = false;
  /// Expires at stop() and destruction: late inotify completions check it first.
  std::shared_ptr<char> alive_;
};

}  // namespace visor
