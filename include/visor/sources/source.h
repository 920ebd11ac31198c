// Where upgrade signals come from: every source (lava, vega, cosmos) implements this.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "visor/common/network_view.h"

namespace visor {

/// What the network asks of the node, as one source reading. Versions carry no leading v.
struct UpgradeDecision {
  /// The version to fetch and verify now (pre-staging); empty when nothing is wanted.
  std::string target;
  /// Switch to `target` as soon as it is staged (false: only pre-stage and keep running).
  bool activate = false;
  /// With `activate`: the network has stopped for this upgrade (a Cosmos halt, Vega's
  /// ReadyToUpgrade), so the old version must not be started again.
  bool halted = false;
  /// Versions to try, in order, when `target` cannot be fetched (Lava: min below target).
  std::vector<std::string> fallbacks;
  /// The block height of the upgrade, when the source knows it (fills {height}).
  std::optional<std::uint64_t> height;
  /// An explicit artifact URL (Cosmos `binaries`), used instead of --download-url.
  std::string url;
  /// An explicit SHA-256 (hex), e.g. from `?checksum=sha256:<hex>`.
  std::string sha256;
  /// The Cosmos upgrade plan name, when the source names one.
  std::string plan;
  /// One line for the log: why this decision ("provider_target 5.3.0 > current 5.2.1").
  std::string reason;
};

/// True when two decisions ask for the same thing (every field but `reason`). Sources deliver a
/// decision only when it differs from the previous one in this sense.
bool same_action(const UpgradeDecision& left, const UpgradeDecision& right);

/// A polled source of upgrade decisions. Implementations run their requests with deadlines
/// and size caps off the main thread, and report on the main io_context thread. A source never
/// throws from these calls, never blocks the io_context and never touches the child.
///
/// Delivery rules shared by every source:
/// - on_decision runs when a reading leads to a decision that differs from the last delivered
///   one (same_action), including the first reading; a decision with an empty `target` and
///   `activate == false` means "nothing wanted now" (cosmos delivers one when a plan it asked to
///   pre-stage is no longer scheduled on chain).
/// - on_error runs for a failed poll with one line naming the operation, the object and the
///   cause; the same line is repeated at most once a minute while it persists (every failure
///   still shows in on_poll(false, ...), which is what error counters should count).
/// - on_poll runs after every poll, successful or not.
/// - Callbacks run on the io_context thread; they may call stop(), redeliver(),
///   set_current_version() and mark_done(), but must not destroy the source.
class Source {
 public:
  using DecisionCallback = std::function<void(const UpgradeDecision&)>;
  /// A failed poll: one line naming the operation, the object and the cause.
  using ErrorCallback = std::function<void(const std::string&)>;
  /// A poll finished (successfully or not) after `latency_seconds`.
  using PollCallback = std::function<void(bool ok, double latency_seconds)>;

  virtual ~Source() = default;
  /// The source's name for logs and metrics ("lava", "vega", "cosmos").
  virtual const char* name() const = 0;
  /// Starts polling. `current_version` tells the source what runs now (may change later).
  virtual void start(DecisionCallback on_decision, ErrorCallback on_error,
                     PollCallback on_poll) = 0;
  /// The version running now, so that decisions compare against it.
  virtual void set_current_version(const std::string& version) = 0;
  /// Stops polling; no callback runs afterwards. Safe to call more than once.
  virtual void stop() = 0;
  /// Delivers the last delivered decision again (e.g. after the daemon dropped or failed an
  /// upgrade and wants to retry it). Nothing happens when no decision was delivered yet, or when
  /// that decision's plan was marked done since.
  virtual void redeliver() {}
  /// Reads what the network asks at once, on the calling thread, where that is cheap (a local
  /// file): the decision, or nullopt when nothing is asked or the source cannot tell now. Asked
  /// when the child exits, so that a halt written a moment before the exit is not taken for a
  /// crash. Delivers nothing through the callbacks.
  virtual std::optional<UpgradeDecision> read_now() { return std::nullopt; }
  /// Records an upgrade plan (name, height) the daemon has already carried out, e.g. read from
  /// state.json at start, so that a source acting on plans (cosmos) never delivers it again.
  /// Sources without plans ignore it.
  virtual void mark_done(const std::string& plan, std::uint64_t height) {
    (void)plan;
    (void)height;
  }
  /// The chain as the last good poll of a node saw it (--node); empty for other sources.
  virtual NetworkView network() const { return {}; }
};

}  // namespace visor
