#include "visor/cli/commands.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string_view>

#include <unistd.h>

#include "visor/cli/cli.h"
#include "visor/common/command_line.h"
#include "visor/common/files.h"
#include "visor/common/live_status.h"
#include "visor/common/outside_text.h"
#include "visor/fetch/http_client.h"
#include "visor/ops/child_status.h"
#include "visor/process/process_table.h"
#include "visor/sources/cometbft_rpc.h"
#include "visor/sources/lava_params.h"
#include "visor/sources/source_factory.h"
#include "visor/sources/upgrade_info.h"
#include "visor/sources/vega_status.h"
#include "visor/store/binary_store.h"
#include "visor/store/home_lock.h"
#include "visor/store/semver.h"
#include "visor/store/version_probe.h"

namespace visor {
namespace {

int fail(const std::string& message, int code = kExitFailure) {
  std::cerr << "visor: error: " << message << "\n";
  return code;
}

// What the visor running in `home` (pid `holder`) last wrote to status.json; null when none
// runs there or the file cannot be read as JSON (it is outside text: capped and checked).
nlohmann::json read_live_status(const std::string& home, std::optional<pid_t> holder) {
  if (!holder) return nullptr;
  auto text = read_small_file(home + "/status.json");
  if (!text) return nullptr;
  std::string ignored;
  auto parsed = parse_outside_json(text.value(), ignored);
  return parsed ? std::move(*parsed) : nlohmann::json();
}

// The chain's height as a visor holding `home` last saw it through --node (status.json's
// "network"); nullopt when no visor runs there or it reads no node.
std::optional<std::uint64_t> last_seen_chain_height(const std::string& home) {
  const nlohmann::json live = read_live_status(home, HomeLock::holder(home));
  if (!live.is_object()) return std::nullopt;
  const auto network = live.find("network");
  if (network == live.end() || !network->is_object()) return std::nullopt;
  const auto height = network->find("chain_height");
  if (height == network->end() || !height->is_number_unsigned()) return std::nullopt;
  return height->get<std::uint64_t>();
}

}  // namespace

namespace {

// Asks the node (--node) once, the way the daemon would: /status (checked against --chain-id)
// and the ABCI query `path`; prints what it answered. The query's value, on success.
std::optional<std::string> probe_node(const Options& options, HttpRequest request,
                                      std::string_view path) {
  request.cancel.reset();
  const FetchOutcome outcome = fetch_node_query(http_request, request, options.node, path);
  const std::string node = url_for_display(options.node);
  if (outcome.kind != FetchOutcome::Kind::ok) {
    std::cerr << "visor: error: node: " << outcome.error << "\n";
    return std::nullopt;
  }
  auto status = parse_node_status(outcome.node_status);
  if (!status) {
    std::cerr << "visor: error: node " << node << ": /status: " << status.error() << "\n";
    return std::nullopt;
  }
  if (auto chain = check_chain(status.value(), options.chain_id); !chain.ok()) {
    std::cerr << "visor: error: node " << node << ": " << chain.error() << "\n";
    return std::nullopt;
  }
  std::cout << "node: " << node << " serves chain " << status->chain_id << " at height "
            << status->height << "\n";
  auto value = parse_abci_query(outcome.body);
  if (!value) {
    std::cerr << "visor: error: node " << node << ": " << path << ": " << value.error() << "\n";
    return std::nullopt;
  }
  return std::move(value).value();
}

// Asks the configured source once, the way the daemon would; prints what it answered.
bool probe_source(const Options& options) {
  HttpRequest request;
  request.timeout = options.request_timeout;
  request.max_body = 1 << 20;
  request.allow_http = true;
  request.ca_bundle = options.ca_bundle;
  switch (options.source) {
    case SourceKind::none:
      return true;
    case SourceKind::lava: {
      if (!options.node.empty()) {
        const auto value = probe_node(options, request, kLavaParamsQuery);
        if (!value) return false;
        auto versions = decode_lava_params(*value, options.lava_role);
        if (!versions) {
          std::cerr << "visor: error: lava: " << url_for_display(options.node) << ": "
                    << versions.error() << "\n";
          return false;
        }
        std::cout << "lava: " << url_for_display(options.node) << " answers min " << versions->min
                  << ", target " << versions->target << "\n";
        return true;
      }
      request.url = lava_params_url(options.lava_rest);
      auto reply = http_request(request);
      if (!reply || reply->status != 200) {
        std::cerr << "visor: error: lava: GET " << request.url << ": "
                  << (reply
                          ? "HTTP " + std::to_string(reply->status) + lava_rest_hint(reply->status)
                          : reply.error())
                  << "\n";
        return false;
      }
      auto versions = parse_lava_params(reply->body, options.lava_role);
      if (!versions) {
        std::cerr << "visor: error: lava: " << request.url << ": " << versions.error() << "\n";
        return false;
      }
      std::cout << "lava: " << request.url << " answers min " << versions->min << ", target "
                << versions->target << "\n";
      return true;
    }
    case SourceKind::vega: {
      request.url = "http://localhost" + options.vega_admin_path;
      request.method = "POST";
      request.unix_socket = options.vega_admin_socket;
      request.headers = {"Content-Type: application/json"};
      request.body = vega_request_body(1);
      auto reply = http_request(request);
      if (!reply || reply->status != 200) {
        std::cerr << "visor: error: vega: POST " << options.vega_admin_path << " on "
                  << options.vega_admin_socket << ": "
                  << (reply ? "HTTP " + std::to_string(reply->status) : reply.error()) << "\n";
        return false;
      }
      auto status = parse_vega_reply(reply->body, 1);
      if (!status) {
        std::cerr << "visor: error: vega: " << options.vega_admin_socket << ": " << status.error()
                  << "\n";
        return false;
      }
      std::cout << "vega: " << options.vega_admin_socket << " answers accepted release "
                << (status->accepted() ? status->release_tag : std::string("(none)"))
                << (status->ready_to_upgrade ? ", ready to upgrade" : "") << "\n";
      return true;
    }
    case SourceKind::cosmos: {
      if (!options.node.empty()) {
        const auto value = probe_node(options, request, kCurrentPlanQuery);
        if (!value) return false;
        auto plan = decode_current_plan(*value);
        if (!plan) {
          std::cerr << "visor: error: cosmos: " << url_for_display(options.node) << ": "
                    << plan.error() << "\n";
          return false;
        }
        if (plan->has_value()) {
          std::cout << "cosmos: plan " << (*plan)->name << " is scheduled at height "
                    << (*plan)->height << "\n";
        } else {
          std::cout << "cosmos: no upgrade plan is scheduled\n";
        }
      }
      const auto folder = std::filesystem::path(options.upgrade_info).parent_path();
      std::error_code error;
      if (!std::filesystem::is_directory(folder, error)) {
        std::cerr << "visor: error: cosmos: the folder of --upgrade-info does not exist: " << folder
                  << "\n";
        return false;
      }
      if (std::filesystem::exists(options.upgrade_info, error)) {
        auto text = read_small_file(options.upgrade_info);
        auto info =
            text ? parse_upgrade_info(text.value()) : Result<UpgradeInfo>::failure(text.error());
        if (!info) {
          std::cerr << "visor: error: cosmos: " << options.upgrade_info << ": " << info.error()
                    << "\n";
          return false;
        }
        std::cout << "cosmos: " << options.upgrade_info << " names plan " << info->name
                  << " at height " << info->height << "\n";
      } else {
        std::cout << "cosmos: " << options.upgrade_info
                  << " does not exist yet (no upgrade pending)\n";
      }
      return true;
    }
  }
  return true;
}

}  // namespace

int run_check(const Preflight& checked) {
  const Options& options = checked.loaded.options;
  for (const auto& warning : checked.loaded.warnings)
    std::cerr << "visor: warning: " << warning << "\n";
  if (!checked.loaded.errors.empty()) {
    for (const auto& error : checked.loaded.errors) std::cerr << "visor: error: " << error << "\n";
    std::cerr << "visor: " << checked.loaded.errors.size()
              << " configuration error(s); `visor wrap` would refuse to start (exit 2)\n";
    return kExitConfiguration;
  }
  if (checked.binary) {
    const BinaryChoice& binary = *checked.binary;
    std::cout << "binary: " << binary.path
              << (binary.version.empty() ? " (version unknown)" : ", version " + binary.version)
              << (binary.from_store ? " (stored current)"
                  : binary.import   ? " (imported into the store at start)"
                                    : " (run from where it is)")
              << "\n";
  }
  std::cout << "home: " << options.home << "\nsource: " << to_string(options.source) << "\n";
  if (!probe_source(options)) {
    std::cerr << "visor: the configuration is valid, but the source did not answer as expected\n";
    return kExitFailure;
  }
  std::cout << "configuration is valid\n";
  return kExitOk;
}

int run_config(const LoadedConfig& loaded, bool json) {
  nlohmann::json document = nlohmann::json::object();
  std::size_t width = 0;
  for (const auto& spec : option_specs()) width = std::max(width, spec.name.size());
  for (const auto& spec : option_specs()) {
    const std::string padding(width - spec.name.size() + 2, ' ');
    const auto it = loaded.effective.find(spec.name);
    if (it == loaded.effective.end()) {
      if (json) {
        document[spec.name] = {{"value", nullptr}, {"origin", "unset"}, {"from", ""}};
      } else {
        std::cout << "--" << spec.name << padding << "(unset)\n";
      }
      continue;
    }
    const RawValue& raw = it->second;
    if (json) {
      // A repeatable option (the children of a set) is shown as the list of its values.
      document[spec.name] = {
          {"value", raw.list.empty() ? nlohmann::json(raw.value) : nlohmann::json(raw.list)},
          {"origin", to_string(raw.kind)},
          {"from", raw.origin}};
    } else {
      // "flag" says it all for `--name`; other origins name the variable, file or profile.
      std::string origin = to_string(raw.kind);
      if (raw.origin.rfind(origin, 0) == 0) {
        origin = raw.origin;  // "profile vega"
      } else if (!raw.origin.empty() && raw.origin != "--" + spec.name) {
        origin += " " + raw.origin;
      }
      const std::vector<std::string> values =
          raw.list.empty() ? std::vector<std::string>{raw.value} : raw.list;
      for (const auto& value : values) {
        std::cout << "--" << spec.name << padding << quote_word(value) << "    # " << origin
                  << "\n";
      }
    }
  }
  if (json) {
    const nlohmann::json out = {
        {"options", document}, {"errors", loaded.errors}, {"warnings", loaded.warnings}};
    std::cout << dump_json(out, 2) << "\n";  // values may hold any bytes a user gave
  } else {
    for (const auto& warning : loaded.warnings) std::cerr << "visor: warning: " << warning << "\n";
    for (const auto& error : loaded.errors) std::cerr << "visor: error: " << error << "\n";
  }
  return loaded.errors.empty() ? kExitOk : kExitConfiguration;
}

int run_init(const std::string& home, const std::string& import_path) {
  const std::string name =
      import_path.empty() ? std::string() : std::filesystem::path(import_path).filename().string();
  BinaryStore store(home, name);
  Status opened = store.open();
  if (!opened) return fail(opened.error());
  if (import_path.empty()) {
    Status saved = store.save();
    if (!saved) return fail(saved.error());
    std::cout << "initialised " << home << "\n";
    return kExitOk;
  }
  auto lock = HomeLock::acquire(home);
  if (!lock) return fail(lock.error());
  auto executable = resolve_executable(import_path);
  if (!executable) return fail(executable.error(), kExitConfiguration);
  auto version = probe_version(executable.value(), {"version"});
  if (!version) return fail(version.error());
  const std::string text = version->str();
  if (!store.has_version(text)) {
    Status installed = store.install_copy(text, executable.value());
    if (!installed) return fail(installed.error());
  }
  if (!store.current_version()) {
    Status switched = store.switch_to(text);
    if (!switched) return fail(switched.error());
  }
  Status saved = store.save();
  if (!saved) return fail(saved.error());
  std::cout << "imported " << executable.value() << " as " << name << " " << text << " into "
            << home << "\n";
  return kExitOk;
}

namespace {

// After a version is in the store: the plan mapping, the height switch, and (without either)
// the request a visor running with --source none switches on.
int finish_add_upgrade(const AddUpgradeRequest& request, BinaryStore& store, const SemVer& wanted) {
  const std::string text = wanted.str();
  Status saved = request.plan.empty() ? store.save() : store.map_plan(request.plan, text);
  if (saved && request.height) saved = store.schedule_at_height(*request.height, text);
  if (!saved) return fail(saved.error());
  if (request.height) {
    std::cout << "switching at block height " << *request.height
              << " (a visor reading the chain through --node does it)\n";
  }
  if (!request.stage_only && request.plan.empty() && !request.height) {
    // A visor running with --source none switches to it; sources that follow a network ignore
    // it. The height is only a request number (the same version asked for again is a new
    // request); visor logs it as a manual upgrade, not as a chain halt.
    const auto id = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    const nlohmann::json manual = {
        {"name", wanted.tag()}, {"height", id}, {"info", kManualUpgradeInfo}};
    Status written = write_file_atomic(manual_request_path(request.home), manual.dump() + "\n");
    if (!written) return fail(written.error());
  }
  return kExitOk;
}

std::string joined(const std::vector<std::string>& words) {
  std::string text;
  for (const auto& word : words) text += (text.empty() ? "" : ", ") + word;
  return text;
}

// A release of several binaries (a service set running, say, lavap and lavad): FILE is a folder
// holding every one of them, or one of them named by --binary.
int add_upgrade_of_set(const AddUpgradeRequest& request, const SemVer& wanted,
                       const std::vector<std::string>& arguments) {
  const std::string text = wanted.str();
  BinaryStore store(request.home, request.names);
  Status opened = store.open();
  if (!opened) return fail(opened.error());
  std::error_code error;
  if (std::filesystem::exists(store.version_dir(text), error)) {
    return fail("version " + text + " is already staged (" + store.version_dir(text) +
                "); a release of several binaries is never replaced (--force replaces a single "
                "binary only)");
  }
  const auto probed = [&](const std::string& path) -> Status {
    auto reported = probe_version(path, arguments);
    if (!reported) return Status::failure(reported.error() + " (see --version-args)");
    if (*reported != wanted) {
      return Status::failure(path + " reports version " + reported->str() + ", not " + text +
                             "; refused");
    }
    return Status();
  };
  if (std::filesystem::is_directory(request.file, error)) {
    std::map<std::string, std::string> files;
    std::vector<std::string> missing;
    for (const auto& name : request.names) {
      const std::string path = request.file + "/" + name;
      if (!std::filesystem::is_regular_file(path, error)) {
        missing.push_back(name);
        continue;
      }
      Status good = probed(path);
      if (!good) return fail(good.error());
      files[name] = path;
    }
    if (!missing.empty()) {
      return fail(request.file + " must hold every binary of the release (" +
                      joined(request.names) + "); missing: " + joined(missing),
                  kExitConfiguration);
    }
    Status installed = store.install_copies(text, files);
    if (!installed) return fail(installed.error());
    std::cout << "staged " << joined(request.names) << " " << text << " in "
              << store.version_dir(text)
              << (request.plan.empty() ? "" : " for plan " + request.plan) << "\n";
    return finish_add_upgrade(request, store, wanted);
  }
  if (request.binary.empty()) {
    return fail("the set runs several binaries (" + joined(request.names) + "): say which one " +
                    request.file + " is with --binary NAME, or give a folder holding every one",
                kExitConfiguration);
  }
  if (std::find(request.names.begin(), request.names.end(), request.binary) ==
      request.names.end()) {
    return fail("--binary " + request.binary + " is not a binary of the set (" +
                    joined(request.names) + ")",
                kExitConfiguration);
  }
  auto executable = resolve_executable(request.file);
  if (!executable) return fail(executable.error(), kExitConfiguration);
  Status good = probed(executable.value());
  if (!good) return fail(good.error());
  auto missing = store.add_partial(text, request.binary, executable.value());
  if (!missing) return fail(missing.error());
  if (!missing->empty()) {
    std::cout << "staged " << request.binary << " " << text << " in " << store.partial_dir(text)
              << "; the version is complete once " << joined(missing.value()) << " is added too\n";
    return kExitOk;
  }
  std::cout << "staged " << joined(request.names) << " " << text << " in "
            << store.version_dir(text) << (request.plan.empty() ? "" : " for plan " + request.plan)
            << "\n";
  return finish_add_upgrade(request, store, wanted);
}

}  // namespace

int run_add_upgrade(const AddUpgradeRequest& request) {
  const std::string& version = request.version;
  const std::string& file = request.file;
  auto wanted = SemVer::parse(version);
  if (!wanted)
    return fail("'" + version + "' is not a version (expected e.g. 5.3.0 or v5.3.0)",
                kExitConfiguration);
  auto arguments = split_command_line(request.version_args);
  if (!arguments) return fail("--version-args: " + arguments.error(), kExitConfiguration);
  if (request.height) {
    // A height the chain has passed would switch at once, under a node running blocks above it.
    // The height the chain is at is accepted: a node that stopped itself at H (--halt-height)
    // reports H, and staging its binary for H is how the operator recovers.
    if (const auto chain = last_seen_chain_height(request.home);
        chain && *request.height < *chain) {
      return fail("--height " + std::to_string(*request.height) + " is below the chain's height " +
                      std::to_string(*chain) + " (as the visor running in " + request.home +
                      " last saw it)",
                  kExitConfiguration);
    }
  }
  if (request.names.size() > 1) return add_upgrade_of_set(request, *wanted, arguments.value());
  if (!request.binary.empty() && request.binary != request.name) {
    return fail("--binary " + request.binary + ": the managed binary is " + request.name,
                kExitConfiguration);
  }
  auto executable = resolve_executable(file);
  if (!executable) return fail(executable.error(), kExitConfiguration);
  auto reported = probe_version(executable.value(), arguments.value());
  if (!reported) return fail(reported.error() + " (see --version-args)");
  if (*reported != *wanted) {
    return fail(file + " reports version " + reported->str() + ", not " + wanted->str() +
                "; refused: stage it as `visor add-upgrade " + reported->str() + " " + file + "`");
  }
  const std::string& name = request.name;
  BinaryStore store(request.home, name);
  Status opened = store.open();
  if (!opened) return fail(opened.error());
  const std::string text = wanted->str();
  std::error_code error;
  const bool present = std::filesystem::exists(store.version_dir(text), error);
  if (present && store.current_version() == text) {
    return fail("version " + text + " is the current version in " + request.home +
                "; the running version is never replaced, not even with --force (stage the new "
                "binary as another version)");
  }
  if (present && !request.force) {
    const std::string there = store.has_version(text) ? " holds " + store.binary_path(text)
                                                      : " has no " + name + " in it";
    return fail("version " + text + " is already staged (" + store.version_dir(text) + there +
                "); add --force to replace it");
  }
  Status installed = present ? store.replace_copy(text, executable.value())
                             : store.install_copy(text, executable.value());
  if (!installed) return fail(installed.error());
  if (present && store.clear_failed(text)) {
    std::cout << "cleared the failed mark of " << text << " (it is a new binary)\n";
  }
  std::cout << (present ? "replaced " : "staged ") << name << " " << text << " in "
            << store.version_dir(text) << (request.plan.empty() ? "" : " for plan " + request.plan)
            << "\n";
  return finish_add_upgrade(request, store, *wanted);
}

namespace {

// The chain as --node shows it, from status.json's "network" (absent without a node). The file
// is visor's own, but it can be edited: a field of another type is shown as unknown.
void print_network(const nlohmann::json& network) {
  if (!network.is_object()) return;
  const auto text = [](const nlohmann::json& object, const char* key) {
    const auto found = object.find(key);
    return found != object.end() && found->is_string() ? outside_text(found->get<std::string>())
                                                       : std::string();
  };
  const auto number = [](const nlohmann::json& object, const char* key) -> std::string {
    const auto found = object.find(key);
    return found != object.end() && found->is_number_unsigned()
               ? std::to_string(found->get<std::uint64_t>())
               : std::string();
  };
  const std::string chain_id = text(network, "chain_id");
  const std::string height = number(network, "chain_height");
  std::cout << "chain:    " << (chain_id.empty() ? "(unknown)" : chain_id)
            << (height.empty() ? "" : " at height " + height) << "\n";
  const auto plan = network.find("plan");
  if (plan == network.end() || !plan->is_object()) {
    std::cout << "scheduled: (no plan)\n";
    return;
  }
  const std::string version = text(*plan, "version");
  const auto staged = plan->find("staged");
  std::cout << "scheduled: plan " << text(*plan, "name") << " at height " << number(*plan, "height")
            << ", " << (version.empty() ? std::string("version unknown") : "version " + version)
            << ", "
            << (staged != plan->end() && staged->is_boolean() && staged->get<bool>() ? "staged"
                                                                                     : "NOT staged")
            << "\n";
}

// The source, its last poll and what the network asks, from status.json's "source",
// "last_poll" and "asks" (lava {"min", "target"}, vega {"release", "height", "ready_to_upgrade"}).
void print_source(const nlohmann::json& live, double now) {
  const auto text = [](const nlohmann::json& object, const char* key) {
    const auto found = object.find(key);
    return found != object.end() && found->is_string() ? outside_text(found->get<std::string>())
                                                       : std::string();
  };
  const std::string source = text(live, "source");
  if (source.empty() || source == "none") return;
  std::cout << "source:   " << source;
  const auto poll = live.find("last_poll");
  if (poll != live.end() && poll->is_object() && poll->contains("unixtime") &&
      (*poll)["unixtime"].is_number()) {
    // Bounded before the conversion: status.json is outside text, and a double beyond the
    // integer's range would be undefined behaviour.
    const double ago = std::clamp(now - (*poll)["unixtime"].get<double>(), 0.0, 1e12);
    const auto ok = poll->find("ok");
    const bool good = ok != poll->end() && ok->is_boolean() && ok->get<bool>();
    std::cout << ", last poll " << static_cast<std::uint64_t>(ago)
              << "s ago: " << (good ? "ok" : "failed");
  } else {
    std::cout << ", no poll yet";
  }
  std::cout << "\n";
  const auto asks = live.find("asks");
  if (asks == live.end() || !asks->is_object()) return;
  if (asks->contains("min") || asks->contains("target")) {
    std::cout << "asks:     min " << text(*asks, "min") << ", target " << text(*asks, "target")
              << "\n";
    return;
  }
  const std::string release = text(*asks, "release");
  const auto height = asks->find("height");
  const auto ready = asks->find("ready_to_upgrade");
  std::cout << "asks:     "
            << (release.empty()
                    ? std::string("no accepted release")
                    : "release " + release +
                          (height != asks->end() && height->is_number_unsigned()
                               ? " at height " + std::to_string(height->get<std::uint64_t>())
                               : std::string()))
            << (ready != asks->end() && ready->is_boolean() && ready->get<bool>()
                    ? ", ready to upgrade"
                    : "")
            << "\n";
}

}  // namespace

int run_status(const std::string& home, bool json_output) {
  auto ready_versions = [](const StoreState& state) {
    std::vector<std::string> ready;
    for (const auto& version : state.staged) {
      if (version != state.current && version != state.previous && state.failed.count(version) == 0)
        ready.push_back(version);
    }
    return ready;
  };
  if (std::error_code error; !std::filesystem::exists(home, error))
    return fail("no visor home at " + home);
  auto state = load_state(home + "/state.json");
  if (!state) return fail(state.error());
  const auto holder = HomeLock::holder(home);
  nlohmann::json live = read_live_status(home, holder);
  const StoreState& s = state.value();
  if (json_output) {
    nlohmann::json document = nlohmann::json::parse(render_state(s));
    document["staged"] = ready_versions(s);
    document["home"] = home;
    document["running"] = holder.has_value();
    document["visor_pid"] = holder ? nlohmann::json(*holder) : nlohmann::json(nullptr);
    document["network"] = live.is_object() && live.contains("network") ? live["network"] : nullptr;
    document["asks"] = live.is_object() && live.contains("asks") ? live["asks"] : nullptr;
    document["last_poll"] =
        live.is_object() && live.contains("last_poll") ? live["last_poll"] : nullptr;
    document["live"] = live;
    document["children"] = children_for_status(
        live.is_object() && live.contains("children") ? live["children"] : nlohmann::json(),
        unix_time_now());
    std::cout << dump_json(document, 2) << "\n";
    return kExitOk;
  }
  auto or_none = [](const std::string& text) {
    return text.empty() ? std::string("(none)") : text;
  };
  std::cout << "home:     " << home << "\n"
            << "visor:    "
            << (holder ? "running, pid " + std::to_string(*holder) : std::string("not running"))
            << "\n"
            << "current:  " << or_none(s.current) << "\n"
            << "previous: " << or_none(s.previous) << "\n";
  // "staged" lists what is ready to switch to: not the current, the previous or a failed one.
  std::string staged;
  for (const auto& version : ready_versions(s)) staged += (staged.empty() ? "" : ", ") + version;
  std::cout << "staged:   " << or_none(staged) << "\n";
  if (s.failed.empty()) std::cout << "failed:   (none)\n";
  for (const auto& [version, reason] : s.failed)
    std::cout << "failed:   " << outside_text(version) << ": " << outside_text(reason, 1000)
              << "\n";
  if (s.pending) {
    std::cout << "pending:  " << s.pending->version << " (" << to_string(s.pending->stage) << ")"
              << (s.pending->height ? " at height " + std::to_string(*s.pending->height)
                                    : std::string())
              << "\n";
  } else if (s.height_switches.empty()) {
    std::cout << "pending:  (none)\n";
  }
  for (const auto& [height, version] : s.height_switches)
    std::cout << "pending:  " << outside_text(version) << " at block height " << height
              << " (add-upgrade --height)\n";
  for (const auto& [plan, version] : s.plans)
    std::cout << "plan:     " << outside_text(plan) << " -> " << outside_text(version) << "\n";
  if (live.is_object()) {
    // status.json is visor's own, but a file can be edited: a field of another type is skipped.
    const auto text_field = [&live](const char* key) {
      const auto found = live.find(key);
      return found != live.end() && found->is_string() ? found->get<std::string>() : std::string();
    };
    const auto pid = live.find("child_pid");
    // A state visor writes is named as visor names it; any other text (an edited file) is shown
    // as the outside text it is.
    const std::string state_text = text_field("state");
    const auto state = parse_live_state(state_text);
    std::cout << "state:    "
              << (state ? std::string(to_string(*state)) : outside_text(state_text));
    if (pid != live.end() && pid->is_number_integer() && pid->get<std::int64_t>() > 0)
      std::cout << " (child pid " << pid->get<std::int64_t>() << ")";
    std::cout << "\n";
    const std::string error = text_field("last_error");
    if (!error.empty()) std::cout << "error:    " << outside_text(error, 1000) << "\n";
    if (live.contains("children"))
      std::cout << render_children_text(children_for_status(live["children"], unix_time_now()));
    print_source(live, unix_time_now());
    print_network(live.contains("network") ? live["network"] : nlohmann::json());
  }
  return kExitOk;
}

namespace {

Result<std::string> own_executable() {
  std::error_code error;
  const auto path = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error)
    return Result<std::string>::failure("cannot find visor's own path: readlink /proc/self/exe: " +
                                        error.message());
  return path.string();
}

// ExecStart= runs the installed visor: this binary when it is installed (under /usr, /opt or
// /bin), else /usr/local/bin/visor or /usr/bin/visor; never a build tree unless --visor-path
// asks for it.
std::string installed_visor(std::string& warning) {
  auto self = own_executable();
  if (self) {
    for (const char* prefix : {"/usr/", "/opt/", "/bin/"}) {
      if (self->rfind(prefix, 0) == 0) return self.value();
    }
  }
  std::error_code error;
  for (const char* candidate : {"/usr/local/bin/visor", "/usr/bin/visor"}) {
    if (std::filesystem::exists(candidate, error)) return candidate;
  }
  warning =
      "visor is not installed yet: ExecStart= names /usr/local/bin/visor (install it with "
      "`cmake --install build --strip`, or give --visor-path)";
  return "/usr/local/bin/visor";
}

}  // namespace

int run_create_service(const ServiceRequest& request) {
  ServiceRequest resolved = request;
  std::string warning;
  if (resolved.visor_path.empty()) {
    resolved.visor_path = installed_visor(warning);
  } else if (resolved.visor_path.front() != '/') {
    resolved.visor_path =
        std::filesystem::absolute(resolved.visor_path).lexically_normal().string();
  }
  if (const Status checked = check_service_request(resolved); !checked) {
    std::cerr << "visor: error: " << checked.error() << "\n";
    return kExitConfiguration;
  }
  if (!warning.empty()) std::cerr << "visor: warning: " << warning << "\n";
  const std::string unit = render_service_unit(resolved, resolved.visor_path);
  if (resolved.output.empty()) {
    std::cout << unit;
    return std::cout.flush() ? kExitOk : kExitFailure;
  }
  if (const Status written = write_file_atomic(resolved.output, unit); !written) {
    std::cerr << "visor: error: " << written.error() << "\n";
    return kExitFailure;
  }
  std::cerr << "visor: wrote " << resolved.output << "; enable it with: systemctl daemon-reload && "
            << "systemctl enable --now " << service_name(resolved) << ".service\n";
  return kExitOk;
}

Result<std::uint64_t> parse_block_height(const std::string& text) {
  using Answer = Result<std::uint64_t>;
  // Cosmos and CometBFT heights are int64 and start at 1; digits only (no sign, no 0x).
  constexpr std::uint64_t kMax = 9223372036854775807ULL;
  const bool digits = !text.empty() && text.size() <= 19 &&
                      text.find_first_not_of("0123456789") == std::string::npos;
  const std::uint64_t height = digits ? std::stoull(text) : 0;
  if (!digits || height == 0 || height > kMax) {
    return Answer::failure("--height '" + outside_text(text, 40) +
                           "' is not a block height (a whole number from 1 to " +
                           std::to_string(kMax) + ")");
  }
  return height;
}

}  // namespace visor
