#include "visor/store/binary_store.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "visor/common/files.h"
#include "visor/store/semver.h"

namespace visor {

namespace fs = std::filesystem;

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

Status BinaryStore::open() {
  for (const auto& directory : {home_, home_ + "/upgrades", tmp_dir()}) {
    std::error_code error;
    fs::create_directories(directory, error);
    if (error) return Status::failure("creating " + directory + ": " + error.message());
    if (::access(directory.c_str(), W_OK) != 0) {
      return Status::failure("home folder " + directory + " is not writable: " + errno_text(errno));
    }
  }
  auto loaded = load_state(state_path());
  if (!loaded) return Status::failure(loaded.error());
  state_ = std::move(loaded).value();
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
  const std::string version = target.filename().string();
  if (target.parent_path().filename() != "upgrades" || !has_version(version)) return std::nullopt;
  return version;
}

bool BinaryStore::has_version(const std::string& version) const {
  if (version.empty() || version.find('/') != std::string::npos || version == "." ||
      version == "..") {
    return false;
  }
  for (const auto& name : names_) {
    struct stat info {};
    const std::string path = binary_path(version, name);
    if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode) ||
        ::access(path.c_str(), X_OK) != 0) {
      return false;
    }
  }
  return !names_.empty();
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

Status BinaryStore::install_copy(const std::string& version, const std::string& file) const {
  return install_copies(version, {{name_, file}});
}

Status BinaryStore::install_copies(const std::string& version,
                                   const std::map<std::string, std::string>& files) const {
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
  const std::string prepared = tmp_dir() + "/import-" + version + "-" + std::to_string(::getpid());
  fs::remove_all(prepared, error);
  fs::create_directories(prepared, error);
  if (error) return Status::failure("creating " + prepared + ": " + error.message());
  for (const auto& name : names_) {
    Status copied = copy_file_synced(files.at(name), prepared + "/" + name, 0755);
    if (!copied) {
      fs::remove_all(prepared, error);
      return copied;
    }
  }
  return install_directory(version, prepared);
}

Status BinaryStore::replace_copy(const std::string& version, const std::string& file) const {
  std::error_code present_error;
  if (!fs::exists(version_dir(version), present_error)) {
    if (present_error) {
      return Status::failure("checking " + version_dir(version) + ": " + present_error.message());
    }
    return install_copy(version, file);
  }
  if (current_version() == version) {
    return Status::failure("version " + version + " is current; the running version is never " +
                           "replaced (stage the new binary under another version)");
  }
  const std::string prepared = tmp_dir() + "/replace-" + version + "-" + std::to_string(::getpid());
  std::error_code error;
  fs::remove_all(prepared, error);
  fs::create_directories(prepared, error);
  if (error) return Status::failure("creating " + prepared + ": " + error.message());
  Status copied = copy_file_synced(file, prepared + "/" + name_, 0755);
  if (copied) copied = fsync_directory(prepared);
  if (!copied) {
    fs::remove_all(prepared, error);
    return copied;
  }
  // renameat2(RENAME_EXCHANGE) swaps both folders in one step: upgrades/<version> is never
  // missing or half-written; afterwards `prepared` holds the old binary, which is removed.
  if (::renameat2(AT_FDCWD, prepared.c_str(), AT_FDCWD, version_dir(version).c_str(),
                  RENAME_EXCHANGE) != 0) {
    const std::string cause = errno_text(errno);
    fs::remove_all(prepared, error);
    return Status::failure("replacing " + version_dir(version) + ": renameat2: " + cause);
  }
  fs::remove_all(prepared, error);
  return fsync_directory(home_ + "/upgrades");
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

Status BinaryStore::save() {
  state_.staged.clear();
  const auto current = current_version();
  for (const auto& version : versions()) {
    if (!current || version != *current) state_.staged.push_back(version);
  }
  return save_state(state_path(), state_);
}

}  // namespace visor
