// When a child's exit is its halt for a switch `visor add-upgrade VERSION FILE --height H`
// scheduled. A Cosmos node given `--halt-height H` stops itself there: it commits block H and
// exits, normally with status 0. That exit is no crash: the old version must not be started
// again, the scheduled version takes over. But a new binary must never run blocks before its
// height, so an exit counts only when visor can tell the chain is there:
// - the chain height visor last saw (--node) is at least H - 1 (the poll may lag a block, and
//   some nodes stop before executing H), whatever the exit status; or
// - the exit is clean (status 0) and the child's own command line says `--halt-height H` (or
//   `--halt-height=H`): polls can lag several blocks behind a node that halted on its own.
// A crash long before H is an ordinary exit and the restart policy applies.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace visor {

/// The value of `--halt-height N` or `--halt-height=N` in a child's argv (argv[0] is skipped);
/// nullopt when it has none or N is not a block height. The last one counts, as for a node.
std::optional<std::uint64_t> halt_height_argument(const std::vector<std::string>& argv);

/// What visor knows about a child that just exited.
struct ChildExit {
  bool clean = false;                         ///< it exited with status 0
  std::optional<std::uint64_t> halt_height;   ///< its own --halt-height
  std::optional<std::uint64_t> chain_height;  ///< the chain's height visor last saw
};

/// The height among `scheduled` whose switch this exit is the halt for (the rule above): the
/// highest one that qualifies. nullopt: an ordinary exit.
std::optional<std::uint64_t> scheduled_halt(const std::vector<std::uint64_t>& scheduled,
                                            const ChildExit& exit);

}  // namespace visor
