// The chain as a source reading a node (--node) sees it, turned into what `visor status`,
// status.json and /metrics show: the chain id and height, the scheduled plan, the version it
// maps to and whether that version is staged. Also the one warning an operator needs before a
// halt: a plan is scheduled and its binary is not in the store.
#pragma once

#include <optional>
#include <string>

#include "visor/common/live_status.h"
#include "visor/sources/source.h"
#include "visor/store/binary_store.h"
#include "visor/upgrade/scheduled_halt.h"

namespace visor {

class NetworkObserver {
 public:
  /// What a poll of the source changed.
  struct Seen {
    bool changed = false;                ///< what status shows changed: worth publishing
    std::optional<UpgradeDecision> due;  ///< a scheduled switch whose height the chain reached
  };
  /// After every poll of the source (`ok` or failed, after `latency_seconds`), with the chain as
  /// the source now sees it: counts the poll in `status` (polls, failed ones, the latency, time
  /// and result of the last one, the time of the last good one), then observe() and
  /// due_switch(). `changed` is always true: the last poll is part of what status shows.
  Seen polled(bool ok, double latency_seconds, const NetworkView& view, BinaryStore& store,
              LiveStatus& status);

  /// Called after every poll: copies `view` into `status`, maps the plan to a version (its name
  /// when it is one, else the plans of state.json: `add-upgrade --plan` or a staged download),
  /// and sets `status.plan_staged`. Warns once per plan when a poll after the first one that saw
  /// it still finds it unstaged with no download running (pre-staging failed or is impossible).
  /// True when what status shows changed (then status.json is worth rewriting).
  bool observe(const NetworkView& view, const BinaryStore& store, LiveStatus& status);

  /// A switch `visor add-upgrade --height H` scheduled (state.json's height_switches, re-read
  /// from disk since the command writes it while visor runs) that the chain's height has
  /// reached: removed from the state, and returned as a decision to switch now. nullopt when
  /// none is due or the height is unknown.
  std::optional<UpgradeDecision> due_switch(const NetworkView& view, BinaryStore& store);

  /// Asked when the child exits: when the exit is its halt for a switch `add-upgrade --height`
  /// scheduled (scheduled_halt(), with the chain height of `view`), that switch is taken from the
  /// store and returned as a decision to switch now with `halted`: the old version is not
  /// started again. A switch due_switch() handed out that is not carried out yet (the child
  /// exits while it is being stopped for it) is returned again with `halted`. nullopt: an
  /// ordinary exit.
  std::optional<UpgradeDecision> halt_at_exit(ChildExit exit, const NetworkView& view,
                                              BinaryStore& store);

 private:
  std::optional<UpgradeDecision> due_;  ///< the last switch handed out
  std::string seen_;                    ///< "name@height" of the plan seen at the previous poll
  std::string warned_;                  ///< "name@height" of the plan already warned about
};

}  // namespace visor
