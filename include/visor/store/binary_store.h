// The binary store under <home>: one folder per version, a `current` symlink switched
// atomically, tmp/ for work in progress, and state.json.
//
//   <home>/upgrades/<version>/<name>     e.g. upgrades/5.2.1/lavap
//   <home>/current -> upgrades/<version> relative symlink, replaced by rename
//   <home>/tmp/                          downloads in progress; never executed from
//   <home>/state.json                    StoreState, written atomically
//
// The store is checked, not trusted: state.json records the SHA-256 of every installed binary,
// and a binary is re-hashed before it is started from the store (check_current() at start,
// hash_binary() + check_hash() before a switch). `current` counts only as a relative link to
// upgrades/<version>, a real folder (not a link) holding a regular, executable binary.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "visor/common/result.h"
#include "visor/store/state_file.h"

namespace visor {

class BinaryStore {
 public:
  /// A store for binaries called `name` (e.g. "lavap") under `home`. Nothing is read yet.
  BinaryStore(std::string home, std::string name);
  /// A store whose every version holds each of `names` (a service set running several binaries
  /// of one release); names.front() is name(). `names` must not be empty.
  BinaryStore(std::string home, std::vector<std::string> names);

  const std::string& home() const { return home_; }
  const std::string& name() const { return name_; }
  /// Every binary a version holds, the first being name().
  const std::vector<std::string>& names() const { return names_; }
  std::string version_dir(const std::string& version) const;
  std::string binary_path(const std::string& version) const;
  /// upgrades/<version>/<name> for one of names().
  std::string binary_path(const std::string& version, const std::string& name) const;
  std::string current_link() const { return home_ + "/current"; }
  /// <home>/current/<name>: what the child runs.
  std::string current_binary() const { return current_link() + "/" + name_; }
  /// <home>/current/<name>: what a child running `name` runs.
  std::string current_binary(const std::string& name) const { return current_link() + "/" + name; }
  std::string tmp_dir() const { return home_ + "/tmp"; }
  /// A new, empty, real folder tmp/<name>-<pid> for preparing a version (whatever an earlier
  /// run left under that name is removed first); the caller removes it when done.
  Result<std::string> fresh_work_dir(const std::string& name) const;
  std::string state_path() const { return home_ + "/state.json"; }

  /// Creates <home>, upgrades/ and tmp/ when missing, and loads state.json.
  Status open();
  /// Removes what an interrupted run left in tmp/ (unpacked folders, copies, temporary links),
  /// keeping *.part downloads so that they can be resumed. Returns what was removed.
  std::vector<std::string> clean_tmp();

  /// The version `current` points at, when it is a symlink whose target is exactly
  /// "upgrades/<version>" and that version is complete (has_version).
  std::optional<std::string> current_version() const;
  /// Why `current` is not honoured ("" when current_version() has a value): "is missing",
  /// "is not a symbolic link", "points at /elsewhere/upgrades/1.0.0, outside <home>/upgrades".
  std::string current_problem() const;
  /// True when upgrades/<version> is a real folder (not a symlink) and upgrades/<version>/<name>
  /// a regular, executable file (not a symlink), for each of names().
  bool has_version(const std::string& version) const;
  /// The name of the binary `current` holds when it holds exactly one file (a store made by
  /// an earlier run knows its binary's name this way); empty otherwise.
  std::string current_binary_name() const;
  /// Versions present in upgrades/, oldest first (semver order; non-semver names last).
  std::vector<std::string> versions() const;

  /// Copies `file` into upgrades/<version>/<name> through tmp/ (copy, fsync, rename of the
  /// folder) and records the SHA-256 of the copy (written by the next save()), for a store of
  /// one name. Refuses when the version is already there: the store never overwrites.
  Status install_copy(const std::string& version, const std::string& file);
  /// The same for a version of several binaries: `files` maps each of names() to the file to
  /// copy; every name must be given. The version appears with all of them or not at all.
  Status install_copies(const std::string& version,
                        const std::map<std::string, std::string>& files);
  /// One binary of a version of several, given by hand (`add-upgrade --binary NAME`): copied
  /// into <home>/partial/<version>/<name>; once every one of names() is there, the folder moves
  /// to upgrades/<version> with one rename and its SHA-256 is recorded, so the version appears
  /// complete or not at all. Returns the names still missing (empty: installed).
  Result<std::vector<std::string>> add_partial(const std::string& version, const std::string& name,
                                               const std::string& file);
  std::string partial_dir(const std::string& version) const {
    return home_ + "/partial/" + version;
  }
  /// The binaries `current` holds, sorted (a store made by an earlier run knows its names so).
  std::vector<std::string> current_binary_names() const;
  /// Replaces the binary of a version that is already in the store and is not current (for
  /// `add-upgrade --force`): the new copy is prepared in tmp/ and swapped in with one atomic
  /// rename, so upgrades/<version> holds the old or the new binary, never a mix. The swap and
  /// the SHA-256 of the new copy written to state.json happen under one StateLock, so that a
  /// running visor sees both or neither.
  Status replace_copy(const std::string& version, const std::string& file);
  /// Moves `prepared_dir` (in tmp/, holding a verified binary for each of names()) to
  /// upgrades/<version>.
  Status install_directory(const std::string& version, const std::string& prepared_dir) const;

  /// Points `current` at `version` (atomic rename) and records current/previous.
  Status switch_to(const std::string& version);
  /// Marks `failed_version` failed with `reason` and points `current` back at `to_version`.
  Status roll_back(const std::string& failed_version, const std::string& to_version,
                   const std::string& reason);

  /// The digest a version's binaries are recorded under, of `folder`/<name> for each of `names`:
  /// the file's SHA-256 for one name (what `sha256sum` prints), else the SHA-256 of the lines
  /// "<name> <sha256>\n" in the order of `names` (one value per version keeps state.json's shape).
  static Result<std::string> hash_binaries(const std::string& folder,
                                           const std::vector<std::string>& names);
  /// hash_binaries() of upgrades/<version> as it is on disk now. Reads no state: safe on the
  /// Worker thread while the main thread uses the store.
  Result<std::string> hash_binary(const std::string& version) const;
  /// The SHA-256 recorded for `version` at install; empty when none is.
  std::string recorded_hash(const std::string& version) const;
  /// Records what upgrades/<version>/<name> must hash to (written by the next save()).
  void record_hash(const std::string& version, const std::string& sha256);
  /// Compares `hashed` (hash_binary(version), computed just now) with the recorded SHA-256,
  /// after taking over what state.json says now (refresh(), under the StateLock): a hash that
  /// `add-upgrade` recorded or replaced (--force) while visor runs counts; a binary changed
  /// without state.json saying so does not match. With no hash at all, `hashed` is recorded and
  /// saved: trust on first use (a store from before hashes were recorded). A mismatch or a read
  /// error is the failure.
  Status check_hash(const std::string& version, const Result<std::string>& hashed);
  /// hash_binary() then check_hash(), blocking: for start-up and the CLI.
  Status verify(const std::string& version);
  /// Sets aside a version that failed its check: upgrades/<version> moves to
  /// tmp/quarantine-<version>-<pid> (removed at the next start by clean_tmp()) and its hash is
  /// forgotten, so that it can be staged again. It is not marked failed: the version is not to
  /// blame for what happened to its file.
  Status quarantine(const std::string& version);
  /// Start-up check of `current`, before anything runs from it: honoured only when
  /// current_version() has a value and that binary matches its SHA-256. Otherwise it is repaired
  /// from state.json (its `current`, then `previous`, the first that verifies) and the failed
  /// version quarantined; with nothing to repair from, the failure says why in one line. A home
  /// without `current` (nothing installed yet) is fine.
  Status check_current();

  /// At start, after check_current(): every version in the store without a recorded SHA-256
  /// (a state.json from before hashes were recorded) is hashed as it is now and recorded, so
  /// that from now on it is checked (trust on first use, one line per version).
  void record_missing_hashes();

  /// Why `version` failed before (marked by roll_back or mark_failed); nullopt when it did not.
  std::optional<std::string> failed_reason(const std::string& version) const;
  /// Forgets that `version` failed (a new binary replaced it); true when it was marked. Not saved.
  bool clear_failed(const std::string& version) { return state_.failed.erase(version) > 0; }
  /// Marks `version` failed with `reason` without moving `current`; saved.
  Status mark_failed(const std::string& version, const std::string& reason);
  /// The version a Cosmos plan maps to: the mapping of that exact name, else one whose name
  /// differs only in case (Cosmovisor's folders are lower-cased plan names). Mappings `visor
  /// add-upgrade --plan` wrote to state.json while visor runs are merged in by refresh().
  std::optional<std::string> plan_version(const std::string& plan) const;
  /// Maps `plan` to `version`; saved.
  Status map_plan(const std::string& plan, const std::string& version);
  /// Takes over what other processes (`visor add-upgrade`) wrote to state.json since this store
  /// last read or wrote it (merge_states: plan mappings, height switches, hashes, ...), when it
  /// changed since (its inode, size and times): not read again at every call.
  void refresh();
  /// True when the plan was carried out already.
  bool plan_done(const DonePlan& plan) const;
  /// Remembers the plan as carried out (once); saved.
  Status mark_plan_done(const DonePlan& plan);
  /// The upgrade in flight, kept so that a restarted visor resumes it.
  const std::optional<PendingUpgrade>& pending() const { return state_.pending; }
  /// `visor add-upgrade --height H`: switch to `version` when the chain reaches `height`; saved.
  Status schedule_at_height(std::uint64_t height, const std::string& version);
  /// The scheduled switch whose height `chain_height` has reached (the highest of them: the
  /// newest the operator asked for), removed with every earlier one and saved. Switches that
  /// `visor add-upgrade` wrote to state.json while visor runs are merged in first.
  std::optional<std::pair<std::uint64_t, std::string>> take_due_height_switch(
      std::uint64_t chain_height);
  /// The heights of the scheduled switches, lowest first; those `visor add-upgrade` wrote to
  /// state.json while visor runs are merged in first.
  std::vector<std::uint64_t> scheduled_heights();
  /// Sets (or clears, with nullopt) the pending upgrade; saved.
  Status set_pending(std::optional<PendingUpgrade> pending);

  const StoreState& state() const { return state_; }
  /// Writes state.json atomically under the StateLock: what other processes wrote since this
  /// store last read it is merged in first (merge_states), so nobody's changes are lost; the
  /// derived `staged` list is refreshed. Fails when the lock cannot be had.
  Status save();

 private:
  /// refresh(): merges state.json into memory when it changed since the last read or write.
  void merge_from_disk();
  /// save() with the StateLock held.
  Status write_merged();

  /// What identifies one version of state.json on disk (every write is a new file, renamed in).
  struct DiskStamp {
    dev_t device;
    ino_t inode;
    off_t size;
    time_t modified_seconds;
    long modified_nanoseconds;
    time_t changed_seconds;
    long changed_nanoseconds;
    bool operator==(const DiskStamp& other) const {
      return device == other.device && inode == other.inode && size == other.size &&
             modified_seconds == other.modified_seconds &&
             modified_nanoseconds == other.modified_nanoseconds &&
             changed_seconds == other.changed_seconds &&
             changed_nanoseconds == other.changed_nanoseconds;
    }
  };

  /// The stamp of state.json now; nullopt when it is missing.
  std::optional<DiskStamp> disk_stamp() const;

  std::string home_;
  std::string name_;
  std::vector<std::string> names_;
  StoreState state_;
  StoreState base_;                      ///< state.json as this store last read or wrote it
  std::optional<DiskStamp> disk_stamp_;  ///< of that state.json
};

}  // namespace visor
