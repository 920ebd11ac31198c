#include "visor/daemon/preflight.h"

#include <unistd.h>

#include <filesystem>

#include "visor/process/process_table.h"
#include "visor/store/binary_store.h"
#include "visor/store/semver.h"
#include "visor/store/version_probe.h"

namespace visor {
namespace {

// A version probe at start must not hold the node up for long.
constexpr Duration kPathProbeTimeout{5000};

void check_home(const Options& options, std::vector<std::string>& errors) {
  std::error_code error;
  if (std::filesystem::exists(options.home, error) && ::access(options.home.c_str(), W_OK) != 0) {
    errors.push_back("--home " + options.home +
                     " is not writable by this user: " + errno_text(errno));
  }
}

// Artifacts are verified before they run: a download URL needs a checksum source.
void check_checksum_source(const Options& options, std::vector<std::string>& errors) {
  if (options.download_url.empty() || !options.checksum_url.empty() ||
      options.insecure_skip_checksum) {
    return;
  }
  errors.push_back(
      "--download-url is set but nothing tells visor the SHA-256 of what it downloads: set "
      "--checksum-url (a sha256sum.txt-style file), or --insecure-skip-checksum to accept "
      "unverified binaries");
}

// The store has a current version: it runs. Tells the operator about a --cmd path that is not
// there and about a newer binary of the same name on PATH.
BinaryChoice choose_stored(const Options& options, const BinaryStore& store,
                           const std::string& version, std::vector<std::string>& warnings) {
  BinaryChoice choice{store.current_binary(), version, true, false, {}};
  const std::string& first_word = options.command.front();
  if (first_word.find('/') != std::string::npos) {
    std::error_code error;
    if (!std::filesystem::exists(first_word, error)) {
      warnings.push_back("--cmd names " + first_word + ", which does not exist; running the " +
                         "stored " + store.name() + " " + version);
    }
    return choice;
  }
  auto on_path = resolve_executable(first_word);
  if (!on_path) return choice;
  auto path_version = probe_version(on_path.value(), options.version_args, kPathProbeTimeout);
  const auto stored = SemVer::parse(version);
  if (path_version && stored && *path_version > *stored) {
    warnings.push_back("PATH has " + path_version->str() + " (" + on_path.value() +
                       "), running stored " + stored->str() + "; use `visor add-upgrade " +
                       path_version->str() + " " + on_path.value() + "` to run it");
  }
  return choice;
}

}  // namespace

Preflight preflight(LoadedConfig loaded) {
  Preflight result;
  Options& options = loaded.options;
  auto& errors = loaded.errors;
  check_home(options, errors);
  check_checksum_source(options, errors);
  if (options.command.empty()) {
    result.loaded = std::move(loaded);
    return result;
  }
  const BinaryStore store(options.home, binary_names(options));
  if (const auto current = store.current_version()) {
    result.binary = choose_stored(options, store, *current, loaded.warnings);
    result.loaded = std::move(loaded);
    return result;
  }
  // Nothing stored yet: every binary the set names is found (PATH or a path) and probed; a set
  // of several binaries is imported as one version only when they all report the same one.
  BinaryChoice choice;
  std::string missing;
  std::vector<ChildSpec> children = options.children;
  if (children.empty()) {  // Options built by hand: the one child of --cmd
    ChildSpec only;
    only.command = options.command;
    children.push_back(only);
  }
  for (const auto& child : children) {
    if (child.command.empty()) continue;  // a configuration error already names it
    const std::string name = binary_name(child);
    auto executable = resolve_executable(child.command.front());
    if (const auto found = choice.found.find(name); found != choice.found.end()) {
      // The store keeps one `name` per version: two different files by that name would run as
      // one, the second never probed.
      std::error_code ignored;
      if (!executable) {
        errors.push_back("child " + child.name + ": " + executable.error());
      } else if (!std::filesystem::equivalent(found->second, executable.value(), ignored)) {
        errors.push_back("child " + child.name + ": " + executable.value() +
                         " is another file than " + found->second + ", named " + name +
                         " too; the children of a set run one binary per name from one release");
      }
      continue;
    }
    if (!executable) {
      errors.push_back(
          (options.children.size() > 1 ? "child " + child.name : std::string("--cmd")) + ": " +
          executable.error() + " (and " + options.home + " has no stored " + name + ")");
      continue;
    }
    choice.found[name] = executable.value();
    if (choice.path.empty()) choice.path = executable.value();
  }
  if (choice.path.empty() || choice.found.size() < store.names().size()) {
    result.loaded = std::move(loaded);
    return result;
  }
  std::string version_error;  // "<path>, but <why>"
  std::string why;
  for (const auto& name : store.names()) {
    const std::string& path = choice.found.at(name);
    auto version = probe_version(path, options.version_args);
    if (!version) {
      version_error = path + ", but " + version.error();
      why = version.error();
      choice.version.clear();
      break;
    }
    if (!choice.version.empty() && choice.version != version->str()) {
      errors.push_back("the binaries of the set report different versions (" + choice.version +
                       " and " + version->str() + " for " + path + "); a set runs one release");
      result.loaded = std::move(loaded);
      return result;
    }
    choice.version = version->str();
  }
  if (!choice.version.empty()) {
    choice.import = true;
  } else if (options.source != SourceKind::none) {
    errors.push_back("--source " + std::string(to_string(options.source)) +
                     " needs the version of " + version_error + " (see --version-args)");
  } else {
    loaded.warnings.push_back("running " + choice.path +
                              " from where it is: it cannot tell its version (" + why +
                              "), so it is not copied into the store");
  }
  result.binary = choice;
  result.loaded = std::move(loaded);
  return result;
}

}  // namespace visor
