// Turns what a source decides into staged versions and switches: pre-staging in the
// background, the switch through the Supervisor's graceful stop, rollback, and resuming an
// upgrade after visor itself was killed. Lives on the main io_context thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "visor/common/live_status.h"
#include "visor/common/worker.h"
#include "visor/config/options.h"
#include "visor/process/lifecycle.h"
#include "visor/process/supervisor.h"
#include "visor/sources/source.h"
#include "visor/store/binary_store.h"

namespace visor {

/// Where `visor add-upgrade` asks a running visor with --source none to switch: a file in the
/// format of Cosmos's upgrade-info.json ({"name": "<version>", "height": <request id>}).
std::string manual_request_path(const std::string& home);

class UpgradeManager {
 public:
  /// `publish` is called whenever `status` changed in a way worth telling (systemd, status.json).
  /// Downloads run on `worker`; the source polls on `source_worker`, so that a long download
  /// never delays a poll.
  UpgradeManager(boost::asio::io_context& io, Worker& worker, Worker& source_worker,
                 const Options& options, BinaryStore& store, LiveStatus& status,
                 Supervisor& supervisor, std::function<void()> publish);
  ~UpgradeManager();
  UpgradeManager(const UpgradeManager&) = delete;
  UpgradeManager& operator=(const UpgradeManager&) = delete;

  /// Reads the pending upgrade of state.json after a restart of visor. Returns true when
  /// `current` already points at it, so the first child starts on probation; resumes an
  /// interrupted download in the background otherwise.
  bool resume_after_restart();
  /// Starts the configured source (nothing for --source none).
  void start_source();
  /// Stops the source and any retry; called when visor exits.
  void stop();

  /// A decision from the source (or a test): stage, pre-stage or switch as it asks.
  void on_decision(const UpgradeDecision& decision);

  // Supervisor hooks.
  /// --upgrade-args with {version} and {height} filled in; empty when no upgrade is switching.
  std::vector<std::string> upgrade_arguments() const;
  /// Points `current` at the version being switched to; false when that failed.
  bool switch_current();
  /// The new version failed its probation: mark it failed and point `current` back.
  void roll_back(const std::string& reason);
  /// The new version passed its probation.
  void commit();
  /// The lifecycle changed state (a deferred switch may proceed).
  void state_changed(LifecycleState state);

 private:
  void evaluate();
  void start_stage(const std::string& version, const UpgradeDecision& decision);
  void begin_switch(const std::string& version, const UpgradeDecision& decision);
  void request_switch(const std::string& version, const UpgradeDecision& decision);
  /// The pending upgrade to `version` that `decision` asks for, from the running version, at
  /// `stage`: what state.json keeps so that a restarted visor can resume it.
  PendingUpgrade pending_for(const std::string& version, const UpgradeDecision& decision,
                             const std::string& stage) const;
  void fail(const std::string& line);
  void schedule_retry();
  void run_hook(const std::string& command, const std::string& which, const std::string& version,
                std::function<void(bool ok)> done);
  std::string resolve_version(const UpgradeDecision& decision);
  bool plan_done(const UpgradeDecision& decision) const;
  void save();

  boost::asio::io_context& io_;
  Worker& worker_;
  Worker& source_worker_;
  const Options& options_;
  BinaryStore& store_;
  LiveStatus& status_;
  Supervisor& supervisor_;
  std::function<void()> publish_;
  std::unique_ptr<Source> source_;
  boost::asio::steady_timer retry_timer_;
  Duration retry_delay_{10000};

  std::optional<UpgradeDecision> wanted_;  ///< the latest decision
  std::size_t candidate_ = 0;              ///< index into target + fallbacks being tried
  bool staging_ = false;                   ///< a download runs on the worker
  bool hook_running_ = false;
  std::optional<PendingUpgrade> switching_;  ///< the upgrade the Supervisor is carrying out
  std::string last_logged_;                  ///< avoids repeating the same informational line
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  /// Tells a download on the worker to stop when visor exits (the .part is kept for later).
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace visor
