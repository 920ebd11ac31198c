#include "visor/cli/migrate.h"

// toml++ compiled into this file alone (header-only mode): only `visor init --from-vega-visor`
// reads TOML, so the daemon carries no shared TOML library at run time.
#define TOML_HEADER_ONLY 1
#include <toml++/toml.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <vector>

#include "visor/common/command_line.h"
#include "visor/common/exit_code.h"
#include "visor/common/files.h"
#include "visor/common/outside_text.h"
#include "visor/common/result.h"
#include "visor/fetch/url_template.h"
#include "visor/store/binary_store.h"
#include "visor/store/home_lock.h"
#include "visor/store/version_probe.h"

namespace visor {
namespace {

namespace fs = std::filesystem;

// A name or path of the imported tree as the report shows it: outside text, one line, bounded.
std::string shown(const std::string& text) { return outside_text(text, 1024); }

struct FoundBinary {
  std::string label;  ///< "genesis", "upgrade v2", "folder v0.73.0"
  std::string plan;   ///< the Cosmovisor plan name; empty for genesis and Vega folders
  std::string path;
  std::string version;  ///< filled by probing
};

// The entry a symlink such as `current` points at, by its last path component; empty when it
// is not a symlink or cannot be read.
std::string link_target_name(const fs::path& link) {
  std::error_code error;
  if (!fs::is_symlink(link, error)) return {};
  const fs::path target = fs::read_symlink(link, error);
  if (error) return {};
  fs::path trimmed = target;
  if (!trimmed.has_filename()) trimmed = trimmed.parent_path();
  return trimmed.filename().string();
}

// A TOML file of the old tree, read as visor reads every file (a FIFO or a device in its place is
// an error, never a hang; at most 1 MiB). Empty error text: parsed into `table`.
std::string read_toml(const fs::path& path, toml::table& table) {
  auto text = read_small_file(path.string());
  if (!text) return text.error();
  try {
    table = toml::parse(text.value(), path.string());
  } catch (const toml::parse_error& failure) {
    return path.string() + ": " + std::string(failure.description());
  }
  return {};
}

// An import fills an empty home: one that already holds a store (a `current` link or installed
// versions, perhaps of another daemon) would end up with two setups mixed and its `current` moved
// under a visor that may run from it. Empty text: the home is new or empty.
std::string refuse_used_home(const std::string& home) {
  std::error_code error;
  const fs::path root(home);
  if (fs::is_symlink(root / "current", error) || fs::exists(root / "current", error)) {
    return home + " already holds a visor store (current -> " +
           fs::read_symlink(root / "current", error).string() +
           "); import into a new --home, or remove that one first";
  }
  if (fs::is_directory(root / "upgrades", error) && !fs::is_empty(root / "upgrades", error)) {
    return home + " already holds a visor store (versions in " + (root / "upgrades").string() +
           "); import into a new --home, or remove that one first";
  }
  return {};
}

// The binary Cosmovisor's `current` selects, which must be one of `binaries` (genesis or an
// upgrades/<plan>/bin/<name> of the tree): without a `current` link, genesis (Cosmovisor's rule
// for a fresh home). A link that cannot be resolved (missing target, a loop), points outside the
// tree or at a folder without the binary is refused: importing another version as current would
// start the node on a binary its data has moved past.
Result<std::string> cosmovisor_current(const fs::path& root, const std::string& name,
                                       const std::vector<FoundBinary>& binaries) {
  using Answer = Result<std::string>;
  const fs::path link = root / "current";
  std::error_code error;
  const auto link_status = fs::symlink_status(link, error);
  if (!fs::exists(link_status)) {
    const fs::path genesis = root / "genesis" / "bin" / name;
    for (const auto& binary : binaries) {
      if (binary.path == genesis.string()) return binary.path;
    }
    return Answer::failure(root.string() + " has no current link and no genesis/bin/" + name);
  }
  if (!fs::is_symlink(link_status)) {
    return Answer::failure(link.string() + " is not a symlink (Cosmovisor keeps a link to the " +
                           "genesis or upgrade folder the node runs from there)");
  }
  const std::string target = outside_text(fs::read_symlink(link, error).string(), 200);
  const fs::path resolved = fs::canonical(link, error);
  if (error) {
    return Answer::failure(link.string() + " -> " + target +
                           " cannot be resolved: " + error.message());
  }
  for (const auto& binary : binaries) {
    std::error_code ignored;
    if (fs::equivalent(resolved / "bin" / name, binary.path, ignored)) return binary.path;
  }
  return Answer::failure(link.string() + " -> " + target + " is not genesis or an upgrade of " +
                         root.string() + " with a runnable bin/" + name +
                         "; point it at the folder the node runs from");
}

// Asks every binary its version, each failure one line on `out`. False when any failed: then
// nothing is imported, so that the operator can fix the tree and run the same command again.
bool probe_all(std::vector<FoundBinary>& binaries, std::ostream& out) {
  bool ok = true;
  for (auto& binary : binaries) {
    auto version = probe_version(binary.path, {"version"});
    if (!version) {
      out << "visor: error: " << binary.label << ": " << version.error() << "\n";
      ok = false;
      continue;
    }
    binary.version = version->str();
  }
  if (!ok) out << "visor: error: nothing imported\n";
  return ok;
}

// Installs every probed binary under its version (once per version), switches `current` to the
// version of `current_path` and saves state.json. False when any step failed.
bool install_all(BinaryStore& store, const std::vector<FoundBinary>& binaries,
                 const std::string& current_path, std::ostream& out) {
  bool ok = true;
  std::string current_version;
  for (const auto& binary : binaries) {
    if (!store.has_version(binary.version)) {
      Status installed = store.install_copy(binary.version, binary.path);
      if (!installed) {
        out << "visor: error: " << binary.label << ": " << installed.error() << "\n";
        ok = false;
        continue;
      }
    }
    if (!binary.plan.empty()) {
      Status mapped = store.map_plan(binary.plan, binary.version);
      if (!mapped) {
        out << "visor: error: " << binary.label << ": " << mapped.error() << "\n";
        ok = false;
      }
    }
    out << "imported " << binary.label << " (" << shown(binary.path) << ") as " << store.name()
        << " " << binary.version << (binary.plan.empty() ? "" : ", plan " + binary.plan) << "\n";
    if (binary.path == current_path) current_version = binary.version;
  }
  if (current_version.empty()) {
    out << "visor: error: the binary the node runs (" << current_path
        << ") was not imported; nothing is current\n";
    ok = false;
  } else {
    Status switched = store.switch_to(current_version);
    if (!switched) {
      out << "visor: error: " << switched.error() << "\n";
      ok = false;
    } else {
      out << "current: " << current_version << "\n";
    }
  }
  Status saved = store.save();
  if (!saved) {
    out << "visor: error: " << saved.error() << "\n";
    ok = false;
  }
  return ok;
}

// Writes <home>/config.json; an existing one is kept (an operator's file is never overwritten)
// and the new one is written beside it as config.json.imported.
bool write_config(const std::string& home, const nlohmann::json& config, std::ostream& out) {
  std::string path = home + "/config.json";
  std::error_code error;
  if (fs::exists(path, error)) {
    out << "config.json exists in " << home << "; writing config.json.imported instead\n";
    path += ".imported";
  }
  Status written = replace_file(path, config.dump(2) + "\n");
  if (!written) {
    out << "visor: error: " << written.error() << "\n";
    return false;
  }
  out << "wrote " << path << "\n";
  return true;
}

std::vector<std::string> strings_of(const toml::node_view<const toml::node>& node) {
  std::vector<std::string> words;
  if (const auto* array = node.as_array()) {
    for (const auto& item : *array) {
      if (auto text = item.value<std::string>()) words.push_back(*text);
    }
  }
  return words;
}

}  // namespace

int import_cosmovisor(const std::string& home, const std::string& directory,
                      const std::string& daemon_name, std::ostream& out) {
  const fs::path root = fs::path(directory) / "cosmovisor";
  std::error_code error;
  if (!fs::is_directory(root / "genesis" / "bin", error)) {
    out << "visor: error: " << directory
        << " is not a Cosmovisor home: no cosmovisor/genesis/bin folder\n";
    return kExitConfiguration;
  }
  std::string name = daemon_name;
  if (name.empty()) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(root / "genesis" / "bin", error)) {
      if (entry.is_regular_file(error)) names.push_back(entry.path().filename().string());
    }
    if (names.size() != 1) {
      out << "visor: error: cannot tell the daemon's name from " << (root / "genesis" / "bin")
          << " (" << names.size() << " files); set DAEMON_NAME\n";
      return kExitConfiguration;
    }
    name = names.front();
  }
  std::vector<FoundBinary> binaries;
  const fs::path genesis = root / "genesis" / "bin" / name;
  if (fs::exists(genesis, error)) binaries.push_back({"genesis", "", genesis.string(), ""});
  std::vector<fs::path> plans;
  for (const auto& entry : fs::directory_iterator(root / "upgrades", error)) {
    if (entry.is_directory(error)) plans.push_back(entry.path());
  }
  std::sort(plans.begin(), plans.end());
  for (const auto& plan : plans) {
    const fs::path binary = plan / "bin" / name;
    if (!fs::exists(binary, error)) {
      out << "skipped upgrade " << shown(plan.filename().string()) << ": no bin/" << name << "\n";
      continue;
    }
    // Cosmovisor names the folder url.PathEscape(plan name): "a/b" lives in upgrades/a%2Fb.
    binaries.push_back({"upgrade " + shown(plan.filename().string()),
                        percent_decode(plan.filename().string()), binary.string(), ""});
  }
  if (binaries.empty()) {
    out << "visor: error: no " << name << " binary in " << root.string() << "\n";
    return kExitConfiguration;
  }
  auto current_path = cosmovisor_current(root, name, binaries);
  if (!current_path) {
    out << "visor: error: " << current_path.error() << "\n";
    return kExitConfiguration;
  }
  if (const std::string used = refuse_used_home(home); !used.empty()) {
    out << "visor: error: " << used << "\n";
    return kExitConfiguration;
  }
  if (!probe_all(binaries, out)) return kExitFailure;

  BinaryStore store(home, name);
  Status opened = store.open();
  if (!opened) {
    out << "visor: error: " << opened.error() << "\n";
    return kExitFailure;
  }
  auto lock = HomeLock::acquire(home);
  if (!lock) {
    out << "visor: error: " << lock.error() << "\n";
    return kExitFailure;
  }
  bool ok = install_all(store, binaries, current_path.value(), out);
  nlohmann::json config = {
      {"profile", "cosmos"},
      {"upgrade-info", (fs::path(directory) / "data" / "upgrade-info.json").string()},
  };
  ok = write_config(home, config, out) && ok;
  out << "run it as before: DAEMON_NAME=" << name << " visor wrap --home " << home
      << " --profile cosmos -- <the arguments of `cosmovisor run`>\n";
  return ok ? kExitOk : kExitFailure;
}

int import_vega_visor(const std::string& home, const std::string& directory, std::ostream& out) {
  const fs::path root(directory);
  toml::table visor_config;
  if (const std::string failed = read_toml(root / "config.toml", visor_config); !failed.empty()) {
    out << "visor: error: " << failed << "\n";
    return kExitConfiguration;
  }
  // Folders: every upgradeFolders value, the genesis folder, and whatever `current` points at.
  std::vector<std::string> folders;
  if (const auto* upgrade_folders = visor_config["upgradeFolders"].as_table()) {
    for (const auto& [tag, folder] : *upgrade_folders) {
      (void)tag;
      if (auto name = folder.value<std::string>()) folders.push_back(*name);
    }
  }
  const std::string current_folder = link_target_name(root / "current");
  for (const std::string& extra : {std::string("genesis"), current_folder}) {
    if (!extra.empty() && std::find(folders.begin(), folders.end(), extra) == folders.end())
      folders.push_back(extra);
  }

  struct RunConfig {
    std::string folder;
    std::string binary;
    std::vector<std::string> args;
    std::string socket_path;
    std::string http_path;
    std::string datanode_binary;
    std::vector<std::string> datanode_args;
  };
  std::vector<RunConfig> runs;
  std::error_code error;
  for (const auto& folder : folders) {
    const fs::path file = root / folder / "run-config.toml";
    if (!fs::exists(file, error)) continue;
    toml::table table;
    if (const std::string failed = read_toml(file, table); !failed.empty()) {
      out << "visor: error: " << failed << "\n";
      return kExitConfiguration;
    }
    RunConfig run;
    run.folder = folder;
    const toml::node_view<const toml::node> view{table};
    const auto path = view["vega"]["binary"]["path"].value<std::string>();
    if (!path) {
      out << "visor: error: " << file.string() << ": no [vega.binary] path\n";
      return kExitConfiguration;
    }
    run.binary = fs::path(*path).is_absolute() ? *path : (root / folder / *path).string();
    run.args = strings_of(view["vega"]["binary"]["args"]);
    run.socket_path = view["vega"]["rpc"]["socketPath"].value_or(std::string());
    run.http_path = view["vega"]["rpc"]["httpPath"].value_or(std::string());
    if (const auto data_node = view["data_node"]["binary"]["path"].value<std::string>()) {
      run.datanode_binary =
          fs::path(*data_node).is_absolute() ? *data_node : (root / folder / *data_node).string();
      run.datanode_args = strings_of(view["data_node"]["binary"]["args"]);
    }
    runs.push_back(std::move(run));
  }
  if (runs.empty()) {
    out << "visor: error: " << directory
        << " is not a Vega Visor home: no <folder>/run-config.toml\n";
    return kExitConfiguration;
  }
  // `current` names the folder the node runs from; without it, the first folder (genesis). A
  // link that leads nowhere, outside the tree or to a folder without a run-config.toml is
  // refused, as for Cosmovisor: another version in its place would run the node's data.
  const RunConfig* current = &runs.front();
  const fs::path link = root / "current";
  if (fs::exists(fs::symlink_status(link, error))) {
    const std::string target = outside_text(fs::read_symlink(link, error).string(), 200);
    const fs::path resolved = fs::canonical(link, error);
    if (error) {
      out << "visor: error: " << link.string() << " -> " << target
          << " cannot be resolved: " << error.message() << "\n";
      return kExitConfiguration;
    }
    current = nullptr;
    for (const auto& run : runs) {
      std::error_code ignored;
      if (fs::equivalent(root / run.folder, resolved, ignored)) current = &run;
    }
    if (current == nullptr) {
      out << "visor: error: " << link.string() << " -> " << target << " is not a folder of "
          << directory << " with a run-config.toml; point it at the folder the node runs from\n";
      return kExitConfiguration;
    }
  }
  const std::string name = fs::path(current->binary).filename().string();
  std::vector<FoundBinary> binaries;
  for (const auto& run : runs) {
    if (!fs::exists(run.binary, error)) {
      if (&run == current) {
        // Skipping it would leave the store without a current version, and the first wrap
        // would take whatever `vega` is on PATH: another version than the node's data.
        out << "visor: error: " << shown(run.binary) << " (of folder " << shown(run.folder)
            << ", the one the node runs from) does not exist\n";
        return kExitConfiguration;
      }
      out << "skipped folder " << shown(run.folder) << ": " << shown(run.binary)
          << " does not exist\n";
      continue;
    }
    binaries.push_back({"folder " + shown(run.folder), "", run.binary, ""});
  }
  if (const std::string used = refuse_used_home(home); !used.empty()) {
    out << "visor: error: " << used << "\n";
    return kExitConfiguration;
  }
  if (!probe_all(binaries, out)) return kExitFailure;

  BinaryStore store(home, name);
  Status opened = store.open();
  if (!opened) {
    out << "visor: error: " << opened.error() << "\n";
    return kExitFailure;
  }
  auto lock = HomeLock::acquire(home);
  if (!lock) {
    out << "visor: error: " << lock.error() << "\n";
    return kExitFailure;
  }
  bool ok = install_all(store, binaries, current->binary, out);

  // The same commands, run from visor's store by name.
  // Vega Visor writes the snapshot height of the last upgrade into the current version's
  // run-config; visor adds that flag itself (the upgrade's height, or the data node's latest
  // history segment on a restart), so a fixed one is not carried over.
  std::vector<std::string> core{name};
  bool dropped_snapshot = false;
  for (std::size_t index = 0; index < current->args.size(); ++index) {
    const std::string& word = current->args[index];
    if (word == "--snapshot.load-from-block-height" && index + 1 < current->args.size()) {
      ++index;
      dropped_snapshot = true;
      continue;
    }
    if (word.rfind("--snapshot.load-from-block-height=", 0) == 0) {
      dropped_snapshot = true;
      continue;
    }
    core.push_back(word);
  }
  if (dropped_snapshot) {
    out << "left out --snapshot.load-from-block-height from the core's arguments: visor adds it "
           "on an upgrade (profile vega) and, with a data node, on every restart\n";
  }
  nlohmann::json config = {{"profile", "vega"}};
  if (!current->socket_path.empty()) config["vega-admin-socket"] = current->socket_path;
  if (!current->http_path.empty()) config["vega-admin-path"] = current->http_path;
  if (current->datanode_binary.empty()) {
    config["cmd"] = join_command_line(core);
  } else {
    std::vector<std::string> datanode{fs::path(current->datanode_binary).filename().string()};
    datanode.insert(datanode.end(), current->datanode_args.begin(), current->datanode_args.end());
    config["children"] = {{{"name", "core"}, {"cmd", join_command_line(core)}},
                          {{"name", "datanode"}, {"cmd", join_command_line(datanode)}}};
  }
  // Vega Visor's restart and stop settings, where visor has the same knob.
  if (auto restarts = visor_config["maxNumberOfRestarts"].value<std::int64_t>()) {
    config["max-restarts"] = *restarts;
  }
  if (auto delay = visor_config["restartsDelaySeconds"].value<std::int64_t>()) {
    config["backoff-initial"] = std::to_string(*delay) + "s";
  }
  if (auto timeout = visor_config["stopSignalTimeoutSeconds"].value<std::int64_t>()) {
    config["stop-timeout"] = std::to_string(*timeout) + "s";
  }
  ok = write_config(home, config, out) && ok;
  out << "run it as before: visor wrap --home " << home << "\n";
  return ok ? kExitOk : kExitFailure;
}

}  // namespace visor
