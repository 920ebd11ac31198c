// <home>/state.json: what the store holds and what is in flight, written atomically.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "visor/common/result.h"

namespace visor {

/// How far a pending upgrade got: what a restarted visor resumes.
enum class PendingStage {
  downloading,  ///< the version is being fetched
  staged,       ///< the version is in upgrades/ but `current` does not point at it yet
  switching,    ///< `current` points at it; it has not passed its probation yet
};

/// "downloading", "staged", "switching": the words state.json uses.
const char* to_string(PendingStage stage);

/// A Cosmos upgrade plan already carried out (or found done), never acted upon again.
struct DonePlan {
  std::string name;
  std::optional<std::uint64_t> height;  ///< nullopt when the plan came without one
  bool operator==(const DonePlan& other) const {
    return name == other.name && height == other.height;
  }
};

/// An upgrade that has been decided but not yet confirmed healthy.
struct PendingUpgrade {
  std::string version;
  std::string from_version;  ///< what ran before (the rollback target)
  std::optional<std::uint64_t> height;
  std::string plan;  ///< Cosmos plan name, when any
  PendingStage stage = PendingStage::downloading;
  std::string url;     ///< explicit artifact URL (Cosmos binaries), for a resume
  std::string sha256;  ///< explicit SHA-256 that came with that URL
  bool operator==(const PendingUpgrade& other) const {
    return version == other.version && from_version == other.from_version &&
           height == other.height && plan == other.plan && stage == other.stage &&
           url == other.url && sha256 == other.sha256;
  }
};

struct StoreState {
  std::string current;
  std::string previous;
  std::vector<std::string> staged;            ///< verified versions in upgrades/, sorted
  std::map<std::string, std::string> failed;  ///< version -> reason; never chosen automatically
  std::optional<PendingUpgrade> pending;
  std::map<std::string, std::string> plans;  ///< Cosmos plan name -> version
  std::vector<DonePlan> done_plans;          ///< plans already acted upon
  /// version -> lower-case hex SHA-256 of upgrades/<version>/<name>, recorded at install; a
  /// binary that no longer matches is never run.
  std::map<std::string, std::string> sha256;
  /// `visor add-upgrade VERSION FILE --height H`: block height -> the version to switch to when
  /// the chain (read through --node) reaches it. An entry is removed once it is acted upon.
  std::map<std::uint64_t, std::string> height_switches;
};

/// Parses state.json text; errors name the problem.
Result<StoreState> parse_state(const std::string& text);
/// Renders state.json text (stable key order, indented).
std::string render_state(const StoreState& state);
/// What to write when this process changed `base` (state.json as it last read or wrote it) into
/// `mine` while other processes made state.json `disk`: field by field, and key by key in the
/// maps (failed, plans, sha256, height_switches) and in done_plans, what this process changed
/// since `base` (added, altered or removed) is kept, and everything else is taken from `disk`,
/// removals included. So each writer's changes survive the other's: `visor add-upgrade` keeps
/// the daemon's current/previous/pending, and the daemon keeps the plans, height switches and
/// hashes add-upgrade wrote, and does not bring back a switch it already carried out.
StoreState merge_states(const StoreState& base, const StoreState& mine, const StoreState& disk);
/// Loads `path`; a missing file is an empty state.
Result<StoreState> load_state(const std::string& path);
/// Saves atomically (temp, fsync, rename, fsync directory).
Status save_state(const std::string& path, const StoreState& state);

}  // namespace visor
