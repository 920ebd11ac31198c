// The upgrade pipeline as an explicit table of stages x events, in the style of Lifecycle.
//
// This class decides; it does nothing itself. A source's decision, a finished download, the
// Supervisor's outcome or a due retry goes in as an event; out come the actions UpgradeManager
// carries out (stage a version, hold the child, run the pre-upgrade hook, switch, persist, log,
// arm a retry) and at most one deadline, which the manager arms as a timer and reports back as
// `retry_due`. What the store holds (versions, failures, plan mappings, plans done) is asked of
// UpgradeFacts, so the table is tested with a fake store and a fake clock. The table is drawn in
// docs/design.md; every pair is handled on purpose.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "visor/common/clock.h"
#include "visor/common/live_status.h"
#include "visor/config/options.h"
#include "visor/process/backoff.h"
#include "visor/sources/source.h"
#include "visor/store/state_file.h"

namespace visor {

enum class UpgradeStage {
  idle,            ///< nothing to do (or what is wanted is done, refused or not yet staged by hand)
  staging,         ///< a version is being fetched and verified
  staged,          ///< the wanted version is staged; the network does not ask for it yet
  retrying,        ///< something failed; the retry is armed and the old version keeps running
  halted_waiting,  ///< the network halted but the new binary is missing (or its hook failed):
                   ///< the old version is not started again, the retry is armed, and a binary
                   ///< staged by hand is looked for
  stopping,        ///< the Supervisor was asked to stop and hold the child
  hook,            ///< the pre-upgrade hook runs; the child is stopped
  probation,       ///< the new version runs; the Supervisor reports passed or rolled back
};

/// What the Supervisor and the rest of visor tell the planner.
struct UpgradeEvent {
  enum class Kind {
    resumed,         ///< visor started with a pending upgrade in state.json (`pending`)
    decision,        ///< a source's decision (`decision`)
    staged,          ///< the download of the target finished; `version` is what was staged
    stage_failed,    ///< the download failed (`text`)
    child_stopped,   ///< the Supervisor holds the child stopped (asked for, or a halt exit)
    hook_done,       ///< the pre-upgrade hook ended (`ok`)
    switch_failed,   ///< `current` could not be moved (`text`)
    passed,          ///< the new version passed its probation
    rolled_back,     ///< the new version failed (`text`); the Supervisor holds the child stopped
    dropped,         ///< the Supervisor ignored a hold or switch request
    retry_due,       ///< the armed deadline passed
    staged_by_hand,  ///< a binary may have been staged by hand (`visor add-upgrade`)
  };
  // NOLINTNEXTLINE(google-explicit-constructor): `handle({Kind::retry_due})` reads well
  UpgradeEvent(Kind what, std::string what_text = {}, bool what_ok = false)
      : kind(what), text(std::move(what_text)), ok(what_ok) {}
  /// A decision (Kind::decision).
  explicit UpgradeEvent(const UpgradeDecision& what) : kind(Kind::decision), decision(what) {}
  Kind kind;
  UpgradeDecision decision{};
  PendingUpgrade pending{};
  std::string version;
  std::string text;
  bool ok = false;
};

/// The upgrade being carried out.
struct UpgradeTarget {
  std::string version;  ///< empty while a plan's version is still learnt from its download
  std::string from_version;
  std::string plan;
  std::optional<std::uint64_t> height;
  std::string url;
  std::string sha256;

  /// The height as `{height}` in upgrade arguments: empty when unknown.
  std::string height_text() const { return height ? std::to_string(*height) : std::string(); }

  /// What state.json keeps of this upgrade at `stage`.
  PendingUpgrade pending(PendingStage stage) const {
    return {version, from_version, height, plan, stage, url, sha256};
  }
};

/// What UpgradeManager must do.
struct UpgradeAction {
  enum class Kind {
    stage,          ///< fetch and verify `target` (an empty version: learn it from target.url)
    hold,           ///< ask the Supervisor to stop the child and keep it stopped
    release,        ///< ask the Supervisor to start the current version again
    run_hook,       ///< run --pre-upgrade for `target` (the child is stopped)
    switch_to,      ///< point `current` at target.version and start it on probation
    commit,         ///< target passed: count it, clear the pending upgrade, run --post-upgrade
    roll_back,      ///< mark target.version failed (`text`) and point `current` back
    persist,        ///< keep `target` as the pending upgrade at `stage` in state.json
    clear_pending,  ///< state.json keeps no pending upgrade
    map_plan,       ///< remember target.plan -> target.version
    mark_done,      ///< remember target.plan at target.height as carried out
    failed,         ///< an attempt failed (`text`): count it, log it, report it as the last error
    arm_retry,      ///< the deadline() is armed; report retry_due when it passes (`delay`)
    log,            ///< one line: `level`, `event`, `text`
  };
  enum class Level { info, warn, error };
  Kind kind = Kind::log;
  UpgradeTarget target{};
  PendingStage stage = PendingStage::downloading;
  Duration delay{0};
  Level level = Level::info;
  std::string event;
  std::string text;
};

/// What the planner asks of the binary store; a fake in tests.
class UpgradeFacts {
 public:
  virtual ~UpgradeFacts() = default;
  /// The version `current` points at; empty when unknown.
  virtual std::string current_version() const = 0;
  /// True when upgrades/<version> holds a verified binary.
  virtual bool has_version(const std::string& version) const = 0;
  /// Why `version` failed before; nullopt when it did not.
  virtual std::optional<std::string> failed_reason(const std::string& version) const = 0;
  /// The version a plan maps to (staged by hand or learnt from a download).
  virtual std::optional<std::string> plan_version(const std::string& plan) const = 0;
  /// True when the plan was carried out already.
  virtual bool plan_done(const DonePlan& plan) const = 0;
};

/// The policy the planner applies, taken from Options.
struct UpgradePolicy {
  static UpgradePolicy from(const Options& options);

  bool pre_upgrade_hook = false;  ///< --pre-upgrade is set
  Duration healthy_after{10000};  ///< for the line that says an upgrade passed
  Duration retry_initial{10000};  ///< first retry after a failure, doubling ...
  Duration retry_max{300000};     ///< ... up to this
};

class UpgradePlanner {
 public:
  UpgradePlanner(UpgradePolicy policy, const UpgradeFacts& facts, const Clock& clock);

  /// Applies one event; returns the actions to carry out, in order.
  std::vector<UpgradeAction> handle(const UpgradeEvent& event);

  UpgradeStage stage() const { return stage_; }
  /// When the manager must report `retry_due`; nullopt when no retry is armed.
  std::optional<TimePoint> deadline() const { return deadline_; }
  /// The upgrade under way (staging, stopping, hook, probation).
  const UpgradeTarget& target() const { return target_; }
  /// True when the network halted for a plan not yet carried out: a child that exits now is not
  /// restarted on the old version. A halt for the next plan counts during probation too.
  bool network_halted() const;
  /// True from the stop of the old version until the new one passed (and while halted): what
  /// /readyz and `visor status` call an upgrade in progress.
  bool in_progress() const;
  /// The version (or, while it is learnt, the plan) being worked on; empty when idle.
  std::string working_on() const;
  /// True when `decision` says the network halted for an upgrade not yet carried out.
  bool is_halt(const UpgradeDecision& decision) const;
  /// visor (re)starts while the network is halted: the Supervisor starts with the child held,
  /// so the halted version never runs again. Called once, before the halt's decision.
  void start_held() { child_held_ = true; }
  /// True while the Supervisor holds the child stopped for the planner.
  bool child_held() const { return child_held_; }
  /// Failed attempts since the last success, for the backoff.
  int attempts() const { return attempts_; }

 private:
  std::vector<UpgradeAction> evaluate();
  std::vector<UpgradeAction> begin_switch(const std::string& version);
  std::vector<UpgradeAction> start_stage(const std::string& version);
  std::vector<UpgradeAction> wait_for_binary(std::vector<UpgradeAction> actions);
  std::vector<UpgradeAction> settle(std::vector<UpgradeAction> actions);
  std::vector<UpgradeAction> arm_retry(UpgradeStage stage, std::vector<UpgradeAction> actions);
  std::vector<UpgradeAction> on_decision(const UpgradeDecision& decision);
  std::vector<UpgradeAction> on_child_stopped();
  std::string resolve_version(std::vector<UpgradeAction>* actions);
  UpgradeTarget target_for(const std::string& version) const;
  void log_once(std::vector<UpgradeAction>& actions, UpgradeAction::Level level,
                const std::string& event, const std::string& text);
  /// True when the wanted decision resolves to a version already staged.
  bool next_version_staged();
  std::optional<std::string> failed_reason(const std::string& version) const;
  std::optional<std::string> plan_version(const std::string& plan) const;
  bool plan_done(const std::string& plan, std::optional<std::uint64_t> height) const;

  UpgradePolicy policy_;
  const UpgradeFacts& facts_;
  const Clock& clock_;
  Backoff backoff_;
  UpgradeStage stage_ = UpgradeStage::idle;
  std::optional<UpgradeDecision> wanted_;  ///< the latest decision
  std::size_t candidate_ = 0;              ///< index into target + fallbacks being tried
  UpgradeTarget target_;
  std::optional<TimePoint> deadline_;
  int attempts_ = 0;
  bool child_held_ = false;
  bool hold_requested_ = false;
  std::string last_logged_;  ///< a line is not repeated while it stays the same
  // What this planner decided that the store learns only when the manager carries out the
  // actions (after handle() returns): consulted with the facts, never instead of them.
  std::map<std::string, std::string> failed_;  ///< version -> reason
  std::map<std::string, std::string> mapped_;  ///< plan -> version
  std::vector<DonePlan> done_;
};

/// The stage as operations see it (LiveStatus::upgrade_stage, named at the edges by
/// to_string(LiveUpgradeStage), "idle", "halted_waiting" ... as in docs/design.md): the one place
/// a planner stage becomes one, by a switch without default so that a new stage fails the build.
LiveUpgradeStage live_stage(UpgradeStage stage);

}  // namespace visor
