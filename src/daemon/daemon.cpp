#include "visor/daemon/daemon.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>

#include "visor/cli/cli.h"
#include "visor/common/files.h"
#include "visor/common/log.h"
#include "visor/common/worker.h"
#include "visor/ops/live_status.h"
#include "visor/ops/operations.h"
#include "visor/process/process_table.h"
#include "visor/process/supervisor.h"
#include "visor/store/binary_store.h"
#include "visor/store/home_lock.h"
#include "visor/store/version_probe.h"
#include "visor/upgrade/upgrade_manager.h"

extern char** environ;

namespace visor {
namespace {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Where the child comes from: the store's `current`, or (for a binary that cannot tell its
// version) the file found on PATH.
struct ChildBinary {
  std::string path;
  std::string version;  ///< empty when unknown
  bool from_store = false;
};

// Finds the binary to run. A home without a current version imports the one named by --cmd.
Result<ChildBinary> locate_binary(const Options& options, BinaryStore& store) {
  if (auto version = store.current_version()) {
    return ChildBinary{store.current_binary(), *version, true};
  }
  auto executable = resolve_executable(options.command.front());
  if (!executable) return Result<ChildBinary>::failure(executable.error());
  auto version = probe_version(executable.value(), options.version_args);
  if (!version) {
    if (options.source != SourceKind::none) {
      return Result<ChildBinary>::failure("--source " + std::string(to_string(options.source)) +
                                          " needs the version of " + executable.value() + ", but " +
                                          version.error());
    }
    log::info("version_unknown",
              "running " + executable.value() + " from where it is: " + version.error());
    return ChildBinary{executable.value(), "", false};
  }
  const std::string text = version->str();
  if (!store.has_version(text)) {
    Status installed = store.install_copy(text, executable.value());
    if (!installed) return Result<ChildBinary>::failure(installed.error());
  }
  Status switched = store.switch_to(text);
  if (!switched) return Result<ChildBinary>::failure(switched.error());
  log::info("binary_imported", "imported " + executable.value() + " into the store",
            {{"version", text}, {"path", store.binary_path(text)}});
  return ChildBinary{store.current_binary(), text, true};
}

class Daemon {
 public:
  explicit Daemon(const Options& options)
      : options_(options),
        store_(options.home, binary_name(options)),
        worker_(io_),
        source_worker_(io_),
        operations_(io_, options, status_) {}

  int run() {
    Status opened = store_.open();
    if (!opened) {
      log::error("home_error", opened.error());
      return kExitFailure;
    }
    auto lock = HomeLock::acquire(options_.home);
    if (!lock) {
      log::error("home_locked", lock.error());
      return kExitFailure;
    }
    for (const auto& leftover : store_.clean_tmp()) {
      log::info("tmp_cleaned", "removed a leftover of an interrupted run", {{"file", leftover}});
    }
    auto binary = locate_binary(options_, store_);
    if (!binary) {
      log::error("binary_error", binary.error());
      return kExitConfiguration;
    }
    binary_ = binary.value();
    if (binary_.from_store && !options_.link.empty()) update_link();

    // Orphans of the child are reparented to visor, which reaps them (PID 1 gets them anyway).
    if (::getpid() != 1 && ::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
      log::warn("subreaper", "prctl(PR_SET_CHILD_SUBREAPER): " + errno_text(errno));
    }
    // A closed socket or pipe must be an error return, not the death of the supervisor.
    ::signal(SIGPIPE, SIG_IGN);

    status_.binary = store_.name();
    status_.current_version = binary_.version;
    status_.source = to_string(options_.source);
    status_.started_unixtime = unix_now();
    Status started = operations_.start();
    if (!started) {
      log::error("operations_error", started.error());
      return kExitFailure;
    }

    supervisor_ = std::make_unique<Supervisor>(io_, options_, hooks());
    upgrades_ = std::make_unique<UpgradeManager>(io_, worker_, source_worker_, options_, store_,
                                                 status_, *supervisor_, [this] { publish(); });
    log::info("visor_started", "visor " VISOR_VERSION " supervising " + options_.command.front(),
              {{"home", options_.home},
               {"version", binary_.version.empty() ? "unknown" : binary_.version},
               {"pid", std::to_string(::getpid())}});
    const bool resume_on_probation = upgrades_->resume_after_restart();
    supervisor_->start(resume_on_probation);
    if (binary_.from_store) upgrades_->start_source();
    io_.run();
    upgrades_.reset();
    return supervisor_->exit_code();
  }

 private:
  SupervisorHooks hooks() {
    SupervisorHooks hooks;
    hooks.prepare_spawn = [this](bool upgrade_start) {
      SpawnOptions spawn;
      spawn.path = binary_.from_store ? store_.current_binary() : binary_.path;
      spawn.argv = options_.command;
      spawn.environment = child_environment();
      if (upgrade_start) {
        for (auto& word : upgrades_->upgrade_arguments()) spawn.argv.push_back(std::move(word));
      }
      return spawn;
    };
    hooks.switch_to_upgrade = [this] {
      const bool switched = upgrades_->switch_current();
      if (switched && !options_.link.empty()) update_link();
      return switched;
    };
    hooks.roll_back = [this](const std::string& reason) {
      upgrades_->roll_back(reason);
      if (!options_.link.empty()) update_link();
    };
    hooks.commit_upgrade = [this] { upgrades_->commit(); };
    hooks.on_state_change = [this](LifecycleState state, pid_t child) {
      status_.state = to_string(state);
      status_.child_pid = child;
      status_.child_up =
          child != 0 && (state == LifecycleState::running || state == LifecycleState::probation);
      status_.child_restarts_total =
          static_cast<std::uint64_t>(supervisor_->lifecycle().restarts());
      status_.orphans_reaped_total = ProcessTable::instance().orphans_reaped();
      if (auto version = store_.current_version()) status_.current_version = *version;
      publish();
      if (upgrades_) upgrades_->state_changed(state);
    };
    hooks.on_orphans_reaped = [this](std::uint64_t total) { status_.orphans_reaped_total = total; };
    hooks.on_exit = [this](int, const std::string&) {
      if (upgrades_) upgrades_->stop();
      operations_.stopping();
    };
    return hooks;
  }

  // visor's environment without systemd's notify variables: they are visor's to use, and a
  // child that saw them could speak for visor (NotifyAccess=main refuses it, but not elsewhere).
  static std::vector<std::string> child_environment() {
    std::vector<std::string> environment;
    for (char** entry = environ; *entry; ++entry) {
      const std::string_view text(*entry);
      if (text.rfind("NOTIFY_SOCKET=", 0) == 0 || text.rfind("WATCHDOG_USEC=", 0) == 0 ||
          text.rfind("WATCHDOG_PID=", 0) == 0) {
        continue;
      }
      environment.emplace_back(text);
    }
    return environment;
  }

  // Keeps --link pointing at <home>/current/<name>, which itself follows every switch.
  void update_link() {
    std::error_code error;
    const std::string target = std::filesystem::absolute(store_.current_binary(), error).string();
    Status linked = replace_symlink(target, options_.link);
    if (!linked)
      log::warn("link_failed", "cannot update --link " + options_.link + ": " + linked.error());
  }

  // The live state changed: tell systemd and the health endpoint, and keep status.json
  // (read by `visor status`) current.
  void publish() {
    operations_.status_changed();
    nlohmann::json live = {{"state", status_.state},
                           {"binary", status_.binary},
                           {"current_version", status_.current_version},
                           {"child_pid", status_.child_pid},
                           {"child_up", status_.child_up},
                           {"upgrade_in_progress", status_.upgrade_in_progress},
                           {"upgrade_target", status_.upgrade_target},
                           {"download_percent", status_.download_percent},
                           {"last_error", status_.last_error},
                           {"source", status_.source},
                           {"child_restarts_total", status_.child_restarts_total},
                           {"source_errors_total", status_.source_errors_total},
                           {"visor_pid", ::getpid()}};
    live["network"] = network_json();
    // No fsync: a snapshot, rewritten on every change and at every start. `replace`: a byte of
    // outside text that is not UTF-8 becomes U+FFFD instead of an exception.
    Status written =
        replace_file(options_.home + "/status.json",
                     live.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    if (!written && !status_file_warned_) {
      status_file_warned_ = true;
      log::warn("status_file", written.error());
    }
  }

  // The chain as --node shows it: {"plan": {"name", "height", "version", "staged"} or null,
  // "chain_height", "chain_id"}; null without a node.
  nlohmann::json network_json() const {
    const NetworkView& network = status_.network;
    if (options_.node.empty()) return nullptr;
    nlohmann::json plan = nullptr;
    if (network.plan) {
      plan = {{"name", network.plan->name},
              {"height", network.plan->height},
              {"version", status_.plan_version},
              {"staged", status_.plan_staged}};
    }
    return {{"plan", plan},
            {"chain_height",
             network.chain_height ? nlohmann::json(*network.chain_height) : nlohmann::json()},
            {"chain_id",
             network.chain_id.empty() ? nlohmann::json() : nlohmann::json(network.chain_id)}};
  }

  const Options& options_;
  boost::asio::io_context io_;
  BinaryStore store_;
  Worker worker_;         // downloads, unpacking, hooks
  Worker source_worker_;  // source polls, never queued behind a download
  LiveStatus status_;
  Operations operations_;
  ChildBinary binary_;
  std::unique_ptr<Supervisor> supervisor_;
  std::unique_ptr<UpgradeManager> upgrades_;
  bool status_file_warned_ = false;
};

}  // namespace

int run_daemon(const Options& options) {
  log::setup(options.log_format, options.log_level);
  Daemon daemon(options);
  return daemon.run();
}

}  // namespace visor
