// The binary store under <home>: one folder per version, a `current` symlink switched
// atomically, tmp/ for work in progress, and state.json.
//
//   <home>/upgrades/<version>/<name>     e.g. upgrades/5.2.1/lavap
//   <home>/current -> upgrades/<version> relative symlink, replaced by rename
//   <home>/tmp/                          downloads in progress; never executed from
//   <home>/state.json                    StoreState, written atomically
#pragma once

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
  std::string state_path() const { return home_ + "/state.json"; }

  /// Creates <home>, upgrades/ and tmp/ when missing, and loads state.json.
  Status open();
  /// Removes what an interrupted run left in tmp/ (unpacked folders, copies, temporary links),
  /// keeping *.part downloads so that they can be resumed. Returns what was removed.
  std::vector<std::string> clean_tmp();

  /// The version `current` points at, when it points at a complete binary.
  std::optional<std::string> current_version() const;
  /// True when upgrades/<version>/<name> is an executable file, for each of names().
  bool has_version(const std::string& version) const;
  /// The name of the binary `current` holds when it holds exactly one file (a store made by
  /// an earlier run knows its binary's name this way); empty otherwise.
  std::string current_binary_name() const;
  /// Versions present in upgrades/, oldest first (semver order; non-semver names last).
  std::vector<std::string> versions() const;

  /// Copies `file` into upgrades/<version>/<name> through tmp/ (copy, fsync, rename of the
  /// folder), for a store of one name. Refuses when the version is already there: the store
  /// never overwrites.
  Status install_copy(const std::string& version, const std::string& file) const;
  /// The same for a version of several binaries: `files` maps each of names() to the file to
  /// copy; every name must be given. The version appears with all of them or not at all.
  Status install_copies(const std::string& version,
                        const std::map<std::string, std::string>& files) const;
  /// Replaces the binary of a version that is already in the store and is not current (for
  /// `add-upgrade --force`): the new copy is prepared in tmp/ and swapped in with one atomic
  /// rename, so upgrades/<version> holds the old or the new binary, never a mix.
  Status replace_copy(const std::string& version, const std::string& file) const;
  /// Moves `prepared_dir` (in tmp/, holding a verified binary for each of names()) to
  /// upgrades/<version>.
  Status install_directory(const std::string& version, const std::string& prepared_dir) const;

  /// Points `current` at `version` (atomic rename) and records current/previous.
  Status switch_to(const std::string& version);
  /// Marks `failed_version` failed with `reason` and points `current` back at `to_version`.
  Status roll_back(const std::string& failed_version, const std::string& to_version,
                   const std::string& reason);

  StoreState& state() { return state_; }
  const StoreState& state() const { return state_; }
  /// Refreshes the derived `staged` list and writes state.json atomically.
  Status save();

 private:
  std::string home_;
  std::string name_;
  std::vector<std::string> names_;
  StoreState state_;
};

}  // namespace visor
