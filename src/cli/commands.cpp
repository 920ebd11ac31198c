#include "visor/cli/commands.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>

#include <unistd.h>

#include "visor/cli/cli.h"
#include "visor/common/files.h"
#include "visor/fetch/http_client.h"
#include "visor/ops/child_status.h"
#include "visor/process/command_line.h"
#include "visor/process/process_table.h"
#include "visor/sources/lava_params.h"
#include "visor/sources/upgrade_info.h"
#include "visor/sources/vega_status.h"
#include "visor/store/binary_store.h"
#include "visor/store/home_lock.h"
#include "visor/store/semver.h"
#include "visor/store/version_probe.h"
#include "visor/upgrade/upgrade_manager.h"

namespace visor {
namespace {

int fail(const std::string& message, int code = kExitFailure) {
  std::cerr << "visor: error: " << message << "\n";
  return code;
}

}  // namespace

namespace {

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
      request.url = lava_params_url(options.lava_rest);
      auto reply = http_request(request);
      if (!reply || reply->status != 200) {
        std::cerr << "visor: error: lava: GET " << request.url << ": "
                  << (reply ? "HTTP " + std::to_string(reply->status) : reply.error()) << "\n";
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

int run_check(const Options& options) {
  int problems = 0;
  if (!options.command.empty()) {
    auto executable = resolve_executable(options.command.front());
    if (!executable) {
      std::cerr << "visor: error: " << executable.error() << "\n";
      ++problems;
    } else {
      std::cout << "binary: " << executable.value();
      auto version = probe_version(executable.value(), options.version_args);
      std::cout << (version ? ", version " + version->str() : " (" + version.error() + ")") << "\n";
    }
  }
  std::error_code error;
  if (std::filesystem::exists(options.home, error) && ::access(options.home.c_str(), W_OK) != 0) {
    std::cerr << "visor: error: home " << options.home << " is not writable\n";
    ++problems;
  }
  std::cout << "home: " << options.home << "\nsource: " << to_string(options.source) << "\n";
  if (!probe_source(options)) ++problems;
  if (problems > 0) {
    std::cerr << "visor: " << problems << " problem(s) found\n";
    return kExitConfiguration;
  }
  std::cout << "configuration is valid\n";
  return kExitOk;
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

int run_add_upgrade(const std::string& home, const std::string& version, const std::string& file,
                    const std::string& plan, const std::string& version_args, bool stage_only) {
  auto wanted = SemVer::parse(version);
  if (!wanted)
    return fail("'" + version + "' is not a version (expected e.g. 5.3.0 or v5.3.0)",
                kExitConfiguration);
  auto arguments = split_command_line(version_args);
  if (!arguments) return fail("--version-args: " + arguments.error(), kExitConfiguration);
  auto executable = resolve_executable(file);
  if (!executable) return fail(executable.error(), kExitConfiguration);
  auto reported = probe_version(executable.value(), arguments.value());
  if (!reported) return fail(reported.error());
  if (*reported != *wanted) {
    return fail(file + " reports version " + reported->str() + ", not " + wanted->str() +
                "; refused");
  }
  const std::string name = std::filesystem::path(file).filename().string();
  BinaryStore store(home, name);
  Status opened = store.open();
  if (!opened) return fail(opened.error());
  Status installed = store.install_copy(wanted->str(), executable.value());
  if (!installed) return fail(installed.error());
  if (!plan.empty()) store.state().plans[plan] = wanted->str();
  Status saved = store.save();
  if (!saved) return fail(saved.error());
  std::cout << "staged " << name << " " << wanted->str() << " in "
            << store.version_dir(wanted->str()) << (plan.empty() ? "" : " for plan " + plan)
            << "\n";
  if (!stage_only && plan.empty()) {
    // A visor running with --source none switches to it; sources that follow a network ignore it.
    const auto id = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    nlohmann::json request = {
        {"name", wanted->tag()}, {"height", id}, {"info", "visor add-upgrade"}};
    Status written = write_file_atomic(manual_request_path(home), request.dump() + "\n");
    if (!written) return fail(written.error());
  }
  return kExitOk;
}

int run_status(const std::string& home, bool json_output) {
  if (!std::filesystem::exists(home)) return fail("no visor home at " + home);
  auto state = load_state(home + "/state.json");
  if (!state) return fail(state.error());
  const auto holder = HomeLock::holder(home);
  nlohmann::json live = nullptr;
  if (holder) {
    auto text = read_small_file(home + "/status.json");
    if (text) {
      try {
        live = nlohmann::json::parse(text.value());
      } catch (const nlohmann::json::exception&) {
        live = nullptr;
      }
    }
  }
  const StoreState& s = state.value();
  if (json_output) {
    nlohmann::json document = nlohmann::json::parse(render_state(s));
    document["home"] = home;
    document["running"] = holder.has_value();
    document["visor_pid"] = holder ? nlohmann::json(*holder) : nlohmann::json(nullptr);
    document["live"] = live;
    document["children"] = children_for_status(
        live.is_object() && live.contains("children") ? live["children"] : nlohmann::json(),
        unix_time_now());
    std::cout << document.dump(2) << "\n";
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
  std::string staged;
  for (const auto& version : s.staged) staged += (staged.empty() ? "" : ", ") + version;
  std::cout << "staged:   " << or_none(staged) << "\n";
  if (s.failed.empty()) std::cout << "failed:   (none)\n";
  for (const auto& [version, reason] : s.failed)
    std::cout << "failed:   " << version << ": " << reason << "\n";
  if (s.pending) {
    std::cout << "pending:  " << s.pending->version << " (" << s.pending->stage << ")"
              << (s.pending->height ? " at height " + std::to_string(*s.pending->height)
                                    : std::string())
              << "\n";
  } else {
    std::cout << "pending:  (none)\n";
  }
  for (const auto& [plan, version] : s.plans)
    std::cout << "plan:     " << plan << " -> " << version << "\n";
  if (live.is_object()) {
    std::cout << "state:    " << live.value("state", "?");
    if (live.value("child_pid", 0) > 0)
      std::cout << " (child pid " << live.value("child_pid", 0) << ")";
    std::cout << "\n";
    const std::string error = live.value("last_error", "");
    if (!error.empty()) std::cout << "error:    " << error << "\n";
    if (live.contains("children"))
      std::cout << render_children_text(children_for_status(live["children"], unix_time_now()));
  }
  return kExitOk;
}

}  // namespace visor
