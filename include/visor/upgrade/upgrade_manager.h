// Carries out what the UpgradePlanner decides: downloads on the worker, hooks, moving `current`,
// state.json, the retry timer, and the requests to the Supervisor (hold, start the new version,
// release). It decides nothing itself. Lives on the main io_context thread.
#pragma once

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "visor/common/deadline_timer.h"
#include "visor/common/live_status.h"
#include "visor/common/worker.h"
#include "visor/config/options.h"
#include "visor/process/lifecycle.h"
#include "visor/sources/source.h"
#include "visor/store/binary_store.h"
#include "visor/upgrade/network_observer.h"
#include "visor/upgrade/upgrade_planner.h"

namespace visor {

class Supervisor;
struct SwitchRequest;

/// The planner's view of the binary store.
class StoreFacts final : public UpgradeFacts {
 public:
  explicit StoreFacts(const BinaryStore& store) : store_(store) {}
  std::string current_version() const override;
  bool has_version(const std::string& version) const override;
  std::optional<std::string> failed_reason(const std::string& version) const override;
  std::optional<std::string> plan_version(const std::string& plan) const override;
  bool plan_done(const DonePlan& plan) const override;

 private:
  const BinaryStore& store_;
};

class UpgradeManager {
 public:
  /// `publish` is called whenever `status` changed in a way worth telling (systemd, status.json).
  /// Downloads and hooks run on `worker`; the source polls on `source_worker`.
  UpgradeManager(boost::asio::io_context& io, Worker& worker, Worker& source_worker,
                 const Options& options, BinaryStore& store, LiveStatus& status,
                 Supervisor& supervisor, std::function<void()> publish);
  ~UpgradeManager();
  UpgradeManager(const UpgradeManager&) = delete;
  UpgradeManager& operator=(const UpgradeManager&) = delete;

  /// Reads the pending upgrade of state.json after a restart of visor. Returns the switch to
  /// start on probation when `current` already points at it; resumes a download otherwise.
  std::optional<SwitchRequest> resume_after_restart();
  /// Starts the configured source (for --source none: the add-upgrade request file).
  void start_source();
  /// Asked once before the first child starts: reads what the network asks now (a local file)
  /// and returns true when it halted for an upgrade not yet carried out, so that a visor
  /// restarted during a halt (killed while waiting, staging or running the hook) never starts
  /// the halted version again.
  bool halted_at_start();
  /// Stops the source and the timers; called when visor exits.
  void stop();

  /// A decision from the source (or a test).
  void on_decision(UpgradeDecision decision);
  /// The Supervisor's outcome of a request.
  void on_outcome(SwitchOutcome outcome, const std::string& reason);
  /// Asked by the Supervisor when the child exits with `status`: did the network halt for an
  /// upgrade? With --upgrade-info, the file is read at this moment, so a plan the chain wrote
  /// just before exiting counts; an exit at the height of a switch `add-upgrade --height`
  /// scheduled is its halt (scheduled_halt.h).
  bool network_halted(const ExitStatus& status);

 private:
  void handle(const UpgradeEvent& event);
  void carry_out(const UpgradeAction& action);
  void stage(const UpgradeTarget& target);
  void switch_to(const UpgradeTarget& target);
  /// Re-hashes the staged binary of `version` on the worker (check_staged_in_background), then
  /// `then()`. A mismatch tells the planner `failure`'s kind of event instead.
  void verify_staged(const std::string& version, UpgradeEvent::Kind failure,
                     std::function<void()> then);
  void finish(const UpgradeAction& action);
  void arm_timers();
  void sync_current();
  void save(const Status& saved);
  /// The chain as the source's last good poll saw it (--node); empty without a source.
  NetworkView chain() const { return source_ ? source_->network() : NetworkView{}; }

  boost::asio::io_context& io_;
  Worker& worker_;
  Worker& source_worker_;
  const Options& options_;
  BinaryStore& store_;
  LiveStatus& status_;
  Supervisor& supervisor_;
  std::function<void()> publish_;
  RealClock clock_;
  StoreFacts facts_;
  UpgradePlanner planner_;
  std::unique_ptr<Source> source_;
  DeadlineTimer retry_timer_;  ///< the planner's deadline
  DeadlineTimer watch_timer_;  ///< while halted and waiting: look for a binary staged by hand
  std::string verified_;       ///< the version whose binary was re-hashed for the switch under way
  NetworkObserver network_;    ///< the chain and its scheduled plan, for status and metrics
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  /// Tells a download on the worker to stop when visor exits (the .part is kept for later).
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace visor
