#include "visor/store/binary_store.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <filesystem>

#include "visor/common/files.h"
#include "visor/common/log.h"
#include "visor/common/sha256.h"
#include "visor/store/home_lock.h"
#include "visor/store/semver.h"

namespace visor {

namespace fs = std::filesystem;

namespace {

// A folder name the store may use for a version: no path separator, not "." or "..".
bool valid_version_name(const std::string& version) {
  return !version.empty() && version.find('/') == std::string::npos && version != "." &&
         version != ".." && version.find('\0') == std::string::npos;
}

}  // namespace

BinaryStore::BinaryStore(std::string home, std::string name)
    : home_(std::move(home)), name_(name), names_{std::move(name)} {}

BinaryStore::BinaryStore(std::string home, std::vector<std::string> names)
    : home_(std::move(home)),
      name_(names.empty() ? std::string() : names.front()),
      names_(std::move(names)) {}

std::string BinaryStore::version_dir(const std::string& version) const {
  return home_ + "/upgrades/" + version;
}

std::string BinaryStore::binary_path(const std::string& version) const {
  return version_dir(version) + "/" + name_;
}

std::string BinaryStore::binary_path(const std::string& version, const std::string& name) const {
  return version_dir(version) + "/" + name;
}

Result<std::string> BinaryStore::fresh_work_dir(const std::string& name) const {
  const std::string folder = tmp_dir() + "/" + name + "-" + std::to_string(::getpid());
  std::error_code error;
  fs::remove_all(folder, error);
  if (error) {
    return Result<std::string>::failure("removing the leftover " + folder + ": " + error.message());
  }
  if (::mkdir(folder.c_str(), 0755) != 0) {
    return Result<std::string>::failure("creating " + folder + ": " + errno_text(errno));
  }
  return folder;
}

Status BinaryStore::open() {
  // The home itself may be a link (operators move homes to a bigger disk that way); the
  // folders visor writes into inside it are real ones, so that a planted link cannot send a
  // download, an unpacked archive or a staged version elsewhere.
  std::error_code home_error;
  fs::create_directories(home_, home_error);
  if (home_error) return Status::failure("creating " + home_ + ": " + home_error.message());
  for (const auto& directory : {home_, home_ + "/upgrades", tmp_dir()}) {
    if (directory != home_) {
      Status made = make_real_directory(directory);
      if (!made) return made;
    }
    if (::access(directory.c_str(), W_OK) != 0) {
      return Status::failure("home folder " + directory + " is not writable: " + errno_text(errno));
    }
  }
  // Taken once at the start as well, so that a lock file that is not a regular file is found
  // at once, with the same clear line as a state.json that is not one.
  auto lock = StateLock::acquire(home_);
  if (!lock) return Status::failure(lock.error());
  const auto stamp = disk_stamp();
  auto loaded = load_state(state_path());
  if (!loaded) return Status::failure(loaded.error());
  state_ = std::move(loaded).value();
  base_ = state_;
  disk_stamp_ = stamp;
  return {};
}

std::vector<std::string> BinaryStore::clean_tmp() {
  std::vector<std::string> removed;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(tmp_dir(), error)) {
    const std::string file = entry.path().filename().string();
    std::error_code kind_error;
    if (entry.is_regular_file(kind_error) && entry.path().extension() == ".part") continue;
    std::error_code ignored;
    fs::remove_all(entry.path(), ignored);
    removed.push_back(file);
  }
  // Temporary symlinks and state files of an interrupted rename live beside their targets.
  for (const auto& entry : fs::directory_iterator(home_, error)) {
    const std::string file = entry.path().filename().string();
    if (file.rfind("current.tmp-", 0) == 0 || file.rfind("state.json.tmp-", 0) == 0) {
      std::error_code ignored;
      fs::remove(entry.path(), ignored);
      removed.push_back(file);
    }
  }
  return removed;
}

std::optional<std::string> BinaryStore::current_version() const {
  std::error_code error;
  const fs::path target = fs::read_symlink(current_link(), error);
  if (error) return std::nullopt;
  // Only the exact relative form the store writes: a link to /elsewhere/upgrades/1.0.0,
  // ../elsewhere/upgrades/1.0.0 or upgrades/1.0.0/../../x resolves outside <home>/upgrades.
  const std::string version = target.filename().string();
  if (target.string() != "upgrades/" + version || !has_version(version)) return std::nullopt;
  return version;
}

std::string BinaryStore::current_problem() const {
  struct stat info {};
  if (::lstat(current_link().c_str(), &info) != 0) return "is missing";
  if (!S_ISLNK(info.st_mode)) return "is not a symbolic link";
  std::error_code error;
  const std::string target = fs::read_symlink(current_link(), error).string();
  if (error) return "cannot be read: " + error.message();
  const std::string version = fs::path(target).filename().string();
  if (target != "upgrades/" + version || !valid_version_name(version)) {
    return "points at " + target + ", not at a folder of " + home_ + "/upgrades";
  }
  if (!has_version(version)) {
    return "points at " + target +
           ", which is not a folder holding the executable files of the release";
  }
  return {};
}

bool BinaryStore::has_version(const std::string& version) const {
  if (!valid_version_name(version)) return false;
  // lstat, not stat: a folder or binary that is itself a link could lead anywhere.
  struct stat folder {};
  struct stat binary {};
  if (names_.empty() || ::lstat(version_dir(version).c_str(), &folder) != 0 ||
      !S_ISDIR(folder.st_mode)) {
    return false;
  }
  for (const auto& name : names_) {
    const std::string path = binary_path(version, name);
    if (::lstat(path.c_str(), &binary) != 0 || !S_ISREG(binary.st_mode) ||
        ::access(path.c_str(), X_OK) != 0) {
      return false;
    }
  }
  return true;
}

std::vector<std::string> BinaryStore::versions() const {
  std::vector<std::string> found;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(home_ + "/upgrades", error)) {
    const std::string version = entry.path().filename().string();
    if (has_version(version)) found.push_back(version);
  }
  std::sort(found.begin(), found.end(), [](const std::string& left, const std::string& right) {
    const auto a = SemVer::parse(left);
    const auto b = SemVer::parse(right);
    if (a && b) return *a < *b;
    if (a || b) return a.has_value();
    return left < right;
  });
  return found;
}

Status BinaryStore::install_copy(const std::string& version, const std::string& file) {
  return install_copies(version, {{name_, file}});
}

Status BinaryStore::install_copies(const std::string& version,
                                   const std::map<std::string, std::string>& files) {
  for (const auto& name : names_) {
    if (files.count(name) == 0) {
      return Status::failure("version " + version + ": no file given for binary " + name);
    }
  }
  std::error_code error;
  if (has_version(version) || fs::exists(version_dir(version), error)) {
    return Status::failure("version " + version + " is already in the store (" +
                           version_dir(version) + "); the store never overwrites");
  }
  if (error) return Status::failure("checking " + version_dir(version) + ": " + error.message());
  auto work = fresh_work_dir("import-" + version);
  if (!work) return Status::failure(work.error());
  const std::string prepared = work.value();
  for (const auto& name : names_) {
    Status copied = copy_file_synced(files.at(name), prepared + "/" + name, 0755);
    if (!copied) {
      fs::remove_all(prepared, error);
      return copied;
    }
  }
  // The copy is hashed, not the original: what is recorded is what the store holds.
  auto hashed = hash_binaries(prepared, names_);
  if (!hashed) {
    fs::remove_all(prepared, error);
    return Status::failure(hashed.error());
  }
  Status installed = install_directory(version, prepared);
  if (installed) record_hash(version, hashed.value());
  return installed;
}

Result<std::vector<std::string>> BinaryStore::add_partial(const std::string& version,
                                                          const std::string& name,
                                                          const std::string& file) {
  using Missing = Result<std::vector<std::string>>;
  if (!valid_version_name(version)) return Missing::failure("'" + version + "' is not a version");
  if (std::find(names_.begin(), names_.end(), name) == names_.end()) {
    return Missing::failure(name + " is not a binary of this release");
  }
  std::error_code error;
  if (fs::exists(version_dir(version), error)) {
    return Missing::failure("version " + version + " is already in the store (" +
                            version_dir(version) + "); the store never overwrites");
  }
  const std::string folder = partial_dir(version);
  for (const auto& directory : {home_ + "/partial", folder}) {
    Status made = make_real_directory(directory);
    if (!made) return Missing::failure(made.error());
  }
  // Copied beside, then renamed: a binary in the folder is always a complete copy. A copy left
  // by an add that was interrupted is removed first (unlink never follows a link).
  const std::string copy = folder + "/." + name + ".copy";
  ::unlink(copy.c_str());
  Status copied = copy_file_synced(file, copy, 0755);
  if (!copied) return Missing::failure(copied.error());
  if (::rename(copy.c_str(), (folder + "/" + name).c_str()) != 0) {
    return Missing::failure("moving " + copy + ": " + errno_text(errno));
  }
  std::vector<std::string> missing;
  for (const auto& wanted : names_) {
    struct stat info {};
    const std::string path = folder + "/" + wanted;
    if (::lstat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) missing.push_back(wanted);
  }
  if (!missing.empty()) return missing;
  auto hashed = hash_binaries(folder, names_);
  if (!hashed) return Missing::failure(hashed.error());
  Status installed = install_directory(version, folder);
  if (!installed) return Missing::failure(installed.error());
  record_hash(version, hashed.value());
  return missing;
}

std::vector<std::string> BinaryStore::current_binary_names() const {
  std::error_code error;
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(current_link(), error)) {
    found.push_back(entry.path().filename().string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

Status BinaryStore::replace_copy(const std::string& version, const std::string& file) {
  std::error_code present_error;
  if (!fs::exists(version_dir(version), present_error)) {
    if (present_error) {
      return Status::failure("checking " + version_dir(version) + ": " + present_error.message());
    }
    return install_copy(version, file);
  }
  if (names_.size() != 1) {
    return Status::failure("version " + version + " is already in the store; replacing one " +
                           "binary of a release of several is refused (remove the version first)");
  }
  if (current_version() == version) {
    return Status::failure("version " + version + " is current; the running version is never " +
                           "replaced (stage the new binary under another version)");
  }
  auto work = fresh_work_dir("replace-" + version);
  if (!work) return Status::failure(work.error());
  const std::string prepared = work.value();
  std::error_code error;
  Status copied = copy_file_synced(file, prepared + "/" + name_, 0755);
  if (copied) copied = fsync_directory(prepared);
  if (!copied) {
    fs::remove_all(prepared, error);
    return copied;
  }
  auto hashed = sha256_file(prepared + "/" + name_);
  if (!hashed) {
    fs::remove_all(prepared, error);
    return Status::failure(hashed.error());
  }
  // The swap and the new hash in state.json are one step for every reader that takes the
  // state lock: a running visor checking this version sees the old binary with the old hash or
  // the new binary with the new one, never the new binary with the old hash (a "mismatch" that
  // would set the operator's binary aside).
  auto lock = StateLock::acquire(home_);
  if (!lock) {
    fs::remove_all(prepared, error);
    return Status::failure(lock.error());
  }
  // renameat2(RENAME_EXCHANGE) swaps both folders in one step: upgrades/<version> is never
  // missing or half-written; afterwards `prepared` holds the old binary, which is removed.
  if (::renameat2(AT_FDCWD, prepared.c_str(), AT_FDCWD, version_dir(version).c_str(),
                  RENAME_EXCHANGE) != 0) {
    const std::string cause = errno_text(errno);
    fs::remove_all(prepared, error);
    return Status::failure("replacing " + version_dir(version) + ": renameat2: " + cause);
  }
  record_hash(version, hashed.value());
  Status synced = fsync_directory(home_ + "/upgrades");
  Status saved = write_merged();
  fs::remove_all(prepared, error);
  return synced ? saved : synced;
}

std::string BinaryStore::current_binary_name() const {
  std::error_code error;
  std::string found;
  for (const auto& entry : fs::directory_iterator(current_link(), error)) {
    if (!found.empty()) return {};
    found = entry.path().filename().string();
  }
  return found;
}

Status BinaryStore::install_directory(const std::string& version,
                                      const std::string& prepared_dir) const {
  const std::string destination = version_dir(version);
  std::error_code error;
  if (fs::exists(destination, error)) {
    return Status::failure("version " + version + " is already in the store (" + destination +
                           "); the store never overwrites");
  }
  if (error) return Status::failure("checking " + destination + ": " + error.message());
  Status synced = fsync_directory(prepared_dir);
  if (!synced) return synced;
  // rename() of a folder is atomic: upgrades/<version> appears complete or not at all.
  if (::rename(prepared_dir.c_str(), destination.c_str()) != 0) {
    return Status::failure("moving " + prepared_dir + " to " + destination + ": " +
                           errno_text(errno));
  }
  return fsync_directory(home_ + "/upgrades");
}

Status BinaryStore::switch_to(const std::string& version) {
  if (!has_version(version)) {
    return Status::failure("cannot switch to " + version + ": " + binary_path(version) +
                           " is missing");
  }
  const auto before = current_version();
  Status linked = replace_symlink("upgrades/" + version, current_link());
  if (!linked) return linked;
  if (before && *before != version) state_.previous = *before;
  state_.current = version;
  return save();
}

Status BinaryStore::roll_back(const std::string& failed_version, const std::string& to_version,
                              const std::string& reason) {
  state_.failed[failed_version] = reason;
  if (!has_version(to_version)) {
    save();
    return Status::failure("cannot roll back to " + to_version + ": " + binary_path(to_version) +
                           " is missing");
  }
  Status linked = replace_symlink("upgrades/" + to_version, current_link());
  if (!linked) return linked;
  state_.current = to_version;
  if (state_.previous == to_version) state_.previous.clear();
  return save();
}

Result<std::string> BinaryStore::hash_binaries(const std::string& folder,
                                               const std::vector<std::string>& names) {
  if (names.size() == 1) return sha256_file(folder + "/" + names.front());
  std::string lines;
  for (const auto& name : names) {
    auto hashed = sha256_file(folder + "/" + name);
    if (!hashed) return hashed;
    lines += name + " " + hashed.value() + "\n";
  }
  Sha256 digest;
  digest.update(lines.data(), lines.size());
  return digest.hex_digest();
}

Result<std::string> BinaryStore::hash_binary(const std::string& version) const {
  if (!has_version(version)) {
    return Result<std::string>::failure(version_dir(version) +
                                        " is missing a regular executable file of the release");
  }
  return hash_binaries(version_dir(version), names_);
}

std::string BinaryStore::recorded_hash(const std::string& version) const {
  const auto found = state_.sha256.find(version);
  return found == state_.sha256.end() ? std::string() : found->second;
}

void BinaryStore::record_hash(const std::string& version, const std::string& sha256) {
  if (!sha256.empty()) state_.sha256[version] = sha256;
}

Status BinaryStore::check_hash(const std::string& version, const Result<std::string>& hashed) {
  if (!hashed)
    return Status::failure("cannot hash " + binary_path(version) + ": " + hashed.error());
  // `visor add-upgrade` may have recorded it in state.json while this visor was running, or
  // replaced the binary (--force) and its hash. That record is honoured because state.json is
  // the store's own, as writable as the binaries it vouches for and by the same hands: trusting
  // it trusts no one new, while a binary changed without it saying so still does not match.
  // Read under the state lock, so that a replacement is seen with its hash, never half; without
  // the lock (held too long, or a lock file that is not a regular file) state.json is still read
  // whole, since every write renames it in.
  {
    auto lock = StateLock::acquire(home_);
    merge_from_disk();
  }
  std::string expected = recorded_hash(version);
  if (expected.empty()) {
    log::warn("hash_recorded",
              "no SHA-256 was recorded for " + binary_path(version) +
                  "; recording the one it has now (trust on first use): " + hashed.value(),
              {{"version", version}});
    record_hash(version, hashed.value());
    return save();
  }
  if (expected != hashed.value()) {
    return Status::failure(binary_path(version) + " no longer matches the SHA-256 recorded at " +
                           "install (recorded " + expected + ", now " + hashed.value() + ")");
  }
  record_hash(version, expected);
  return {};
}

Status BinaryStore::verify(const std::string& version) {
  return check_hash(version, hash_binary(version));
}

Status BinaryStore::quarantine(const std::string& version) {
  state_.sha256.erase(version);
  const std::string aside = tmp_dir() + "/quarantine-" + version + "-" + std::to_string(::getpid());
  std::error_code error;
  fs::remove_all(aside, error);
  if (::rename(version_dir(version).c_str(), aside.c_str()) != 0 && errno != ENOENT) {
    const std::string cause = errno_text(errno);
    fs::remove_all(version_dir(version), error);  // never left where it could be run
    if (error) {
      return Status::failure("setting " + version_dir(version) + " aside: " + cause +
                             "; removing it: " + error.message());
    }
  }
  return save();
}

Status BinaryStore::check_current() {
  struct stat info {};
  if (::lstat(current_link().c_str(), &info) != 0 && errno == ENOENT && state_.current.empty())
    return {};  // a new home: nothing installed yet
  std::string problem = current_problem();
  std::string bad_version;
  if (problem.empty()) {
    bad_version = *current_version();
    Status verified = verify(bad_version);
    if (verified) return {};
    problem = "does not match: " + verified.error();
  }
  const std::string what = current_link() + " " + problem;
  std::vector<std::string> tried;
  for (const std::string& candidate : {state_.current, state_.previous}) {
    if (candidate.empty() || candidate == bad_version ||
        std::find(tried.begin(), tried.end(), candidate) != tried.end()) {
      continue;
    }
    tried.push_back(candidate);
    if (!has_version(candidate) || !verify(candidate)) continue;
    if (!bad_version.empty()) {
      Status aside = quarantine(bad_version);
      if (!aside) log::warn("quarantine_failed", aside.error());
    }
    Status linked = replace_symlink("upgrades/" + candidate, current_link());
    if (!linked) return Status::failure(what + "; repairing it failed: " + linked.error());
    if (state_.previous == candidate) state_.previous.clear();
    state_.current = candidate;
    log::warn("current_repaired", what + "; repaired: it now points at upgrades/" + candidate,
              {{"version", candidate}});
    return save();
  }
  // Left where it is for the operator to look at; nothing runs it.
  return Status::failure(what + "; state.json names no other verified version to repair it " +
                         "from (current '" + state_.current + "', previous '" + state_.previous +
                         "'); refusing to run it");
}

void BinaryStore::record_missing_hashes() {
  for (const auto& version : versions()) {
    if (!recorded_hash(version).empty()) continue;
    Status recorded = verify(version);  // with no hash anywhere, check_hash records this one
    if (!recorded) log::warn("hash_check_failed", recorded.error(), {{"version", version}});
  }
}

std::optional<std::string> BinaryStore::failed_reason(const std::string& version) const {
  const auto it = state_.failed.find(version);
  if (it == state_.failed.end()) return std::nullopt;
  return it->second;
}

Status BinaryStore::mark_failed(const std::string& version, const std::string& reason) {
  state_.failed[version] = reason;
  return save();
}

std::optional<std::string> BinaryStore::plan_version(const std::string& plan) const {
  if (const auto it = state_.plans.find(plan); it != state_.plans.end()) return it->second;
  // Cosmovisor keeps a plan's binary under its lower-cased name (upgrades/v2 for plan "V2"), so
  // a mapping imported from its tree, or staged after its habit, differs from the chain's
  // spelling only in case.
  const auto lower = [](std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  };
  const std::string wanted = lower(plan);
  if (const auto it = state_.plans.find(wanted); it != state_.plans.end()) return it->second;
  // Any other spelling only when it is the one: two that differ in case name no version.
  std::optional<std::string> found;
  for (const auto& [name, version] : state_.plans) {
    if (lower(name) != wanted) continue;
    if (found && *found != version) return std::nullopt;
    found = version;
  }
  return found;
}

Status BinaryStore::map_plan(const std::string& plan, const std::string& version) {
  state_.plans[plan] = version;
  return save();
}

void BinaryStore::refresh() { merge_from_disk(); }

bool BinaryStore::plan_done(const DonePlan& plan) const {
  return std::find(state_.done_plans.begin(), state_.done_plans.end(), plan) !=
         state_.done_plans.end();
}

Status BinaryStore::mark_plan_done(const DonePlan& plan) {
  if (!plan_done(plan)) state_.done_plans.push_back(plan);
  return save();
}

Status BinaryStore::schedule_at_height(std::uint64_t height, const std::string& version) {
  state_.height_switches[height] = version;
  return save();
}

std::optional<BinaryStore::DiskStamp> BinaryStore::disk_stamp() const {
  struct stat file {};
  if (::stat(state_path().c_str(), &file) != 0) return std::nullopt;
  return DiskStamp{file.st_dev,         file.st_ino,          file.st_size,
                   file.st_mtim.tv_sec, file.st_mtim.tv_nsec, file.st_ctim.tv_sec,
                   file.st_ctim.tv_nsec};
}

void BinaryStore::merge_from_disk() {
  const auto stamp = disk_stamp();
  // Gone (what memory holds stands; the next save writes it again), or read already.
  if (!stamp || stamp == disk_stamp_) return;
  auto on_disk = load_state(state_path());
  if (!on_disk) return;  // what memory holds stands; the next save rewrites the file
  state_ = merge_states(base_, state_, on_disk.value());
  base_ = std::move(on_disk).value();
  disk_stamp_ = stamp;
}

std::vector<std::uint64_t> BinaryStore::scheduled_heights() {
  merge_from_disk();
  std::vector<std::uint64_t> heights;
  for (const auto& entry : state_.height_switches) heights.push_back(entry.first);
  return heights;
}

std::optional<std::pair<std::uint64_t, std::string>> BinaryStore::take_due_height_switch(
    std::uint64_t chain_height) {
  merge_from_disk();
  auto& switches = state_.height_switches;
  if (switches.empty() || switches.begin()->first > chain_height) return std::nullopt;
  auto due = std::prev(switches.upper_bound(chain_height));
  std::pair<std::uint64_t, std::string> taken = *due;
  switches.erase(switches.begin(), std::next(due));
  Status saved = save();
  if (!saved) log::warn("state_file", saved.error());
  return taken;
}

Status BinaryStore::set_pending(std::optional<PendingUpgrade> pending) {
  state_.pending = std::move(pending);
  return save();
}

Status BinaryStore::save() {
  auto lock = StateLock::acquire(home_);
  if (!lock) return Status::failure("not writing " + state_path() + ": " + lock.error());
  return write_merged();
}

Status BinaryStore::write_merged() {
  merge_from_disk();
  state_.staged.clear();
  const auto current = current_version();
  for (const auto& version : versions()) {
    if (!current || version != *current) state_.staged.push_back(version);
  }
  Status saved = save_state(state_path(), state_);
  if (!saved) return saved;
  base_ = state_;
  disk_stamp_ = disk_stamp();
  return saved;
}

}  // namespace visor
