#include "visor/daemon/daemon.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <optional>

#include "visor/common/clock.h"
#include "visor/common/exit_code.h"
#include "visor/common/files.h"
#include "visor/common/live_status.h"
#include "visor/common/log.h"
#include "visor/common/outside_text.h"
#include "visor/common/worker.h"
#include "visor/ops/child_status.h"
#include "visor/ops/operations.h"
#include "visor/process/process_table.h"
#include "visor/process/service_set.h"
#include "visor/process/supervisor.h"
#include "visor/sources/vega_history.h"
#include "visor/store/binary_store.h"
#include "visor/store/home_lock.h"
#include "visor/store/version_probe.h"
#include "visor/upgrade/upgrade_manager.h"

extern char** environ;

namespace visor {
namespace {

// The lifecycle as operations see it: the one place a LifecycleState becomes a LiveState. The
// upgrade planner's stage does not change it (it shows as status.upgrade_stage beside it).
LiveState live_state(LifecycleState state) {
  switch (state) {
    case LifecycleState::starting:
      return LiveState::starting;
    case LifecycleState::running:
      return LiveState::running;
    case LifecycleState::backoff:
      return LiveState::backoff;
    case LifecycleState::stopping:
      return LiveState::stopping;
    case LifecycleState::upgrading:
      return LiveState::upgrading;
    case LifecycleState::held:
      return LiveState::held;
    case LifecycleState::probation:
      return LiveState::probation;
    case LifecycleState::rolling_back:
      return LiveState::rolling_back;
    case LifecycleState::exited:
      return LiveState::exited;
  }
  return LiveState::exited;
}

// Carries out what preflight chose: a binary that tells its version is imported into the store
// (the first start of a home) and then runs from `current`.
Result<BinaryChoice> install_choice(const BinaryChoice& choice, BinaryStore& store) {
  if (choice.from_store || !choice.import) return choice;
  if (!store.has_version(choice.version)) {
    Status installed = store.names().size() > 1 ? store.install_copies(choice.version, choice.found)
                                                : store.install_copy(choice.version, choice.path);
    if (!installed) return Result<BinaryChoice>::failure(installed.error());
  }
  Status switched = store.switch_to(choice.version);
  if (!switched) return Result<BinaryChoice>::failure(switched.error());
  log::info("binary_imported", "imported " + choice.path + " into the store",
            {{"version", choice.version}, {"path", store.binary_path(choice.version)}});
  return BinaryChoice{store.current_binary(), choice.version, true, false, {}};
}

class Daemon {
 public:
  Daemon(const Options& options, const BinaryChoice& binary)
      : options_(options),
        store_(options.home, binary_names(options)),
        worker_(io_),
        source_worker_(io_),
        operations_(io_, options, status_),
        binary_(binary) {}

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
    // The store is checked, not trusted: `current` must be the store's own link to a binary
    // that still matches its recorded SHA-256 before anything runs from it.
    Status checked = store_.check_current();
    if (!checked) {
      log::error("store_refused", checked.error());
      return kExitFailure;
    }
    store_.record_missing_hashes();
    // check_current() may have repaired `current` (preflight decided without touching the
    // disk): whenever the store has a current version now, that is what runs.
    if (auto current = store_.current_version();
        current && (!binary_.from_store || binary_.version != *current)) {
      binary_ = BinaryChoice{store_.current_binary(), *current, true, false, {}};
    }
    auto binary = install_choice(binary_, store_);
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
    // SIGPIPE is ignored by main() before anything else: a closed socket or pipe is an error
    // return, not the death of the supervisor.

    status_.binary = store_.name();
    status_.current_version = binary_.version;
    status_.source = to_string(options_.source);
    status_.started_unixtime = unix_time_now();
    Status started = operations_.start();
    if (!started) {
      log::error("operations_error", started.error());
      return kExitFailure;
    }

    supervisor_ = std::make_unique<Supervisor>(io_, options_, clock_, launches(), hooks());
    upgrades_ = std::make_unique<UpgradeManager>(io_, worker_, source_worker_, options_, store_,
                                                 status_, *supervisor_, [this] { publish(); });
    log::info("visor_started",
              "visor " VISOR_VERSION " supervising " +
                  (options_.children.size() > 1
                       ? "a set of " + std::to_string(options_.children.size()) + " children"
                       : options_.command.front()),
              {{"home", options_.home},
               {"version", binary_.version.empty() ? "unknown" : binary_.version},
               {"pid", std::to_string(::getpid())}});
    const auto probation = upgrades_->resume_after_restart();
    bool halted = false;
    if (binary_.from_store) {
      upgrades_->start_source();
      halted = !probation && upgrades_->halted_at_start();
    }
    supervisor_->start(probation, halted);
    run_loop();
    upgrades_.reset();
    return supervisor_->exit_code();
  }

 private:
  // The event loop's backstop: a handler that throws costs one log line, never the supervisor
  // (asio allows run() to be called again after an exception left it).
  void run_loop() {
    while (true) {
      try {
        io_.run();
        return;
      } catch (const std::exception& error) {
        log::error("internal_error", std::string("an event handler failed unexpectedly: ") +
                                         error.what() + "; visor carries on");
      }
    }
  }

  // How each child of the set starts: its binary in `current` (or where preflight found it),
  // its words, and its own upgrade arguments, stdin file and ready pattern.
  std::vector<ChildLaunch> launches() {
    std::vector<ChildSpec> children = options_.children;
    if (children.empty()) {  // Options built by hand: the one child of --cmd
      ChildSpec only;
      only.command = options_.command;
      children.push_back(only);
    }
    const auto environment = child_environment();
    std::vector<ChildLaunch> result;
    for (std::size_t index = 0; index < children.size(); ++index) {
      const std::string name = binary_name(children[index]);
      ChildLaunch launch;
      launch.spawn.path = binary_path(name);
      launch.spawn.argv = children[index].command;
      launch.spawn.environment = environment;
      launch.upgrade_args = upgrade_args_for(options_, index);
      launch.stdin_file = stdin_file_for(options_, index);
      launch.ready_pattern = ready_pattern_for(options_, index);
      if (needs_history_segment(options_, index, SpawnReason::restart)) {
        launch.restart_arguments = [this](ChildLaunch::ArgumentsReady ready) {
          core_restart_arguments(std::move(ready));
        };
      }
      result.push_back(std::move(launch));
    }
    return result;
  }

  // Profile vega with a data node: the core starts from the data node's latest history segment
  // on every restart that is not an upgrade (as Vega Visor does). The query (a process bounded
  // by 10 s) runs on the source worker, so the loop goes on serving signals, the other children
  // and /healthz meanwhile; at most one source poll (bounded by --request-timeout) is ahead of it.
  void core_restart_arguments(ChildLaunch::ArgumentsReady ready) {
    const auto datanode = vega_datanode_index(options_);
    if (!datanode) {
      ready({});
      return;
    }
    const ChildSpec& spec = options_.children[*datanode];
    auto query = history_segment_command(binary_path(binary_name(spec)), spec);
    source_worker_.run(
        [query = std::move(query)] { return latest_history_segment(query, Duration(10000)); },
        [ready = std::move(ready)](const Result<std::uint64_t>& segment) {
          const CoreRestart restart = core_restart_from(segment);
          if (restart.extra_args.empty()) {
            log::warn("history_segment", restart.note);
          } else {
            log::info("history_segment", restart.note);
          }
          ready(restart.extra_args);
        });
  }

  // The file that runs binary `name` of the set: its copy in `current`, or where preflight found
  // it when the store holds no version.
  std::string binary_path(const std::string& name) const {
    if (binary_.from_store) return store_.current_binary(name);
    const auto found = binary_.found.find(name);
    return found != binary_.found.end() ? found->second : binary_.path;
  }

  // Each child of a set as operations see it (a single child is described by the top fields).
  void fill_children() {
    status_.children.clear();
    if (options_.children.size() < 2) return;
    status_.children = child_statuses();
  }

  // Every child of the set, a set of one included, as status.json lists them for `visor status`.
  std::vector<ChildStatus> child_statuses() const {
    std::vector<ChildStatus> children;
    if (!supervisor_) return children;
    const ServiceSet& set = supervisor_->set();
    for (std::size_t index = 0; index < set.size(); ++index) {
      ChildStatus child;
      child.name = set.name(index);
      const LifecycleState state = set.child_state(index);
      child.state = live_state(state);
      child.pid = supervisor_->child_pid(index);
      child.up = child.pid != 0 &&
                 (state == LifecycleState::running || state == LifecycleState::probation);
      child.restarts = static_cast<std::uint64_t>(set.restarts(index));
      child.started_unixtime = child.pid != 0 ? supervisor_->child_started(index) : 0;
      child.version = status_.current_version;
      children.push_back(std::move(child));
    }
    return children;
  }

  SupervisorHooks hooks() {
    SupervisorHooks hooks;
    hooks.network_halted = [this](const ExitStatus& status) {
      return upgrades_ && upgrades_->network_halted(status);
    };
    hooks.on_outcome = [this](SwitchOutcome outcome, const std::string& reason) {
      if (upgrades_) upgrades_->on_outcome(outcome, reason);
      if (!options_.link.empty() && binary_.from_store) update_link();
    };
    hooks.on_change = [this](LifecycleState state, pid_t child) {
      status_.state = live_state(state);
      status_.child_pid = child;
      status_.child_up =
          child != 0 && (state == LifecycleState::running || state == LifecycleState::probation);
      std::uint64_t restarts = 0;
      for (std::size_t index = 0; index < supervisor_->set().size(); ++index) {
        restarts += static_cast<std::uint64_t>(supervisor_->set().restarts(index));
      }
      if (options_.group == GroupPolicy::together && supervisor_->set().size() > 1) {
        restarts = static_cast<std::uint64_t>(supervisor_->set().restarts(0));
      }
      status_.child_restarts_total = restarts;
      fill_children();
      status_.orphans_reaped_total = ProcessTable::instance().orphans_reaped();
      if (state == LifecycleState::exited) {
        if (upgrades_) upgrades_->stop();
        operations_.stopping();
      }
      publish();
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
    nlohmann::json live = {{"state", to_string(status_.state)},
                           {"binary", status_.binary},
                           {"current_version", status_.current_version},
                           {"child_pid", status_.child_pid},
                           {"child_up", status_.child_up},
                           {"upgrade_in_progress", status_.upgrade_in_progress},
                           {"upgrade_target", status_.upgrade_target},
                           {"upgrade_stage", to_string(status_.upgrade_stage)},
                           {"download_percent", status_.download_percent},
                           {"last_error", outside_text(status_.last_error, log::kMaxMessageBytes)},
                           {"source", status_.source},
                           {"child_restarts_total", status_.child_restarts_total},
                           {"source_errors_total", status_.source_errors_total},
                           {"visor_pid", ::getpid()}};
    live["network"] = network_json();
    live["asks"] = asks_json();
    live["last_poll"] =
        status_.last_poll_unixtime > 0
            ? nlohmann::json{{"unixtime", status_.last_poll_unixtime}, {"ok", status_.last_poll_ok}}
            : nlohmann::json();
    // A set of one (--cmd) is listed too: one entry named after its binary.
    if (status_.children.empty()) {
      LiveStatus listed;
      listed.children = child_statuses();
      live["children"] = children_to_json(listed, unix_time_now());
    } else {
      live["children"] = children_to_json(status_, unix_time_now());
    }
    // No fsync: a snapshot, rewritten on every change and at every start.
    Status written = replace_file(options_.home + "/status.json", dump_json(live, 2) + "\n");
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
      plan = {{"name", outside_text(network.plan->name)},
              {"height", network.plan->height},
              {"version", status_.plan_version},
              {"staged", status_.plan_staged}};
    }
    return {
        {"plan", plan},
        {"chain_height",
         network.chain_height ? nlohmann::json(*network.chain_height) : nlohmann::json()},
        {"chain_id", network.chain_id.empty() ? nlohmann::json()
                                              : nlohmann::json(outside_text(network.chain_id))}};
  }

  // What the network asks, as the last good poll read it: lava {"min", "target"}, vega
  // {"release", "height", "ready_to_upgrade"}; null before a reading and for other sources.
  nlohmann::json asks_json() const {
    const auto& asks = status_.network.asks;
    if (!asks) return nullptr;
    if (options_.source == SourceKind::lava) {
      return {{"min", outside_text(asks->min_version)},
              {"target", outside_text(asks->target_version)}};
    }
    return {
        {"release", asks->target_version.empty()
                        ? nlohmann::json()
                        : nlohmann::json(outside_text(asks->target_version))},
        {"height", asks->upgrade_height ? nlohmann::json(*asks->upgrade_height) : nlohmann::json()},
        {"ready_to_upgrade", asks->ready_to_upgrade}};
  }

  const Options& options_;
  boost::asio::io_context io_;
  BinaryStore store_;
  Worker worker_;         // downloads, unpacking, hooks
  Worker source_worker_;  // source polls, never queued behind a download
  LiveStatus status_;
  Operations operations_;
  RealClock clock_;
  BinaryChoice binary_;
  std::unique_ptr<Supervisor> supervisor_;
  std::unique_ptr<UpgradeManager> upgrades_;
  bool status_file_warned_ = false;
};

}  // namespace

int run_daemon(const Options& options, const BinaryChoice& binary) {
  log::setup(options.log_format, options.log_level);
  Daemon daemon(options, binary);
  return daemon.run();
}

}  // namespace visor
