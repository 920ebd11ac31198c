// The supervisor: carries out the service set's decisions on one Boost.Asio io_context.
//
// It owns every signal visor handles (one signal_set), the children (one for `--cmd`, several
// for a service set), the one timer of the set and, for a child with a ready pattern, the pipes
// that copy its output while scanning it.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "visor/common/clock.h"
#include "visor/common/deadline_timer.h"
#include "visor/common/line_matcher.h"
#include "visor/config/options.h"
#include "visor/process/lifecycle.h"
#include "visor/process/process_table.h"
#include "visor/process/service_set.h"

namespace visor {

/// A new version to start on probation: `current` already points at it.
struct SwitchRequest {
  std::string version;
  std::string height;  ///< the upgrade height, for {height} in upgrade arguments; empty: unknown
};

/// How one child of the set is started.
struct ChildLaunch {
  SpawnOptions spawn;                     ///< path (in `current`), argv, environment
  std::vector<std::string> upgrade_args;  ///< added on an upgrade start; {version}, {height}
  std::string stdin_file;                 ///< opened afresh for every start; empty: none
  std::string ready_pattern;              ///< empty: none
  /// The arguments to add come back through this, on the io_context's thread.
  using ArgumentsReady = std::function<void(std::vector<std::string> extra)>;
  /// Asked on a start that is neither visor's first nor an upgrade, for arguments to add:
  /// profile vega's core starts from the data node's latest history segment. The answer may come
  /// later (the query runs off the event loop, which goes on serving signals, other children and
  /// /healthz); the child is spawned then, unless the set was stopped meanwhile. Empty for every
  /// other child.
  std::function<void(ArgumentsReady ready)> restart_arguments;
};

/// What the supervisor tells the rest of visor, and the one thing it asks. Empty functions are
/// skipped.
struct SupervisorHooks {
  /// Asked when the child exits with `status`: true when the network halted for an upgrade (or
  /// the child stopped itself at the height of a scheduled switch), so that the exit is not a
  /// crash and the old version is not started again.
  std::function<bool(const ExitStatus& status)> network_halted;
  /// The outcome of a hold or switch request (or of a halt exit), once per request.
  std::function<void(SwitchOutcome outcome, const std::string& reason)> on_outcome;
  /// Called after every change of the set's or a child's state and after orphans were reaped,
  /// with the first child's pid (0 when none runs); the last call has LifecycleState::exited.
  std::function<void(LifecycleState state, pid_t child)> on_change;
};

class Supervisor {
 public:
  /// `children` says how each child of the set (in list order) is started.
  Supervisor(boost::asio::io_context& io, const Options& options, const Clock& clock,
             std::vector<ChildLaunch> children, SupervisorHooks hooks);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  /// Installs the signal handlers and starts the child. Call once, then run the io_context.
  /// `probation`: the first child is a new version on probation (a resumed switch). `held`
  /// (without `probation`): the network halted before visor started; no child is started, the
  /// set is held (reported `stopped`) until the upgrade manager switches or releases it.
  void start(std::optional<SwitchRequest> probation = std::nullopt, bool held = false);
  /// Stop every child (last first; stop signal, timeout, SIGKILL) and keep them stopped: reports
  /// `stopped` (or `dropped`). A new version on probation that is asked to stop has passed.
  void hold();
  /// Start the new version `request` names on probation: reports `passed` or `rolled_back`
  /// (or `dropped` when the child is not held).
  void start_upgrade(SwitchRequest request);
  /// Start the current version again after a hold.
  void release();
  /// The exit code once the io_context has stopped.
  int exit_code() const { return exit_code_; }
  /// The pid of child `index` (0 when it does not run).
  pid_t child_pid(std::size_t index = 0) const { return children_.at(index).pid; }
  /// When child `index` was last started (unix time; 0 when it does not run).
  double child_started(std::size_t index) const { return children_.at(index).started_unixtime; }
  LifecycleState state() const { return set_.state(); }
  const ServiceSet& set() const { return set_; }

 private:
  struct OutputPipe {
    std::unique_ptr<boost::asio::posix::stream_descriptor> reader;
    std::array<char, 8192> buffer{};
    std::unique_ptr<LineMatcher> lines;  ///< bounded: at most LineMatcher::kMaxLine buffered
  };
  struct Child {
    ChildLaunch launch;
    pid_t pid = 0;
    double started_unixtime = 0;
    LifecycleState reported = LifecycleState::exited;
    pid_t reported_pid = -1;
    // Only with a ready pattern: the child's stdout (0) and stderr (1) pass through visor.
    bool watch_output = false;
    std::array<OutputPipe, 2> outputs;
    std::array<int, 2> write_fds{-1, -1};
    std::uint64_t spawns_asked = 0;  ///< an answer of restart_arguments is for the latest only
  };

  void handle(const SetEvent& event);
  void handle(LifecycleEvent::Kind kind) { handle(SetEvent{{kind}, 0}); }
  void carry_out(const SetAction& action);
  void spawn_child(std::size_t index, bool upgrade_start, SpawnReason reason);
  void launch_child(std::size_t index, SpawnOptions spawn);
  void on_exit(std::size_t index, pid_t pid, ExitStatus status);
  void wait_for_signal();
  void on_signal(int signal_number);
  void arm_deadline();
  void open_output(std::size_t index);
  void read_output(std::size_t index, int stream);
  void drain_output(std::size_t index, int stream);
  void scan_output(std::size_t index, int stream, std::size_t length);
  std::string label(std::size_t index) const;
  bool changed();

  boost::asio::io_context& io_;
  const Options& options_;
  const Clock& clock_;
  SupervisorHooks hooks_;
  SwitchRequest switch_;  ///< the switch under way: its version and height
  std::mt19937_64 random_;
  ServiceSet set_;
  std::vector<Child> children_;
  boost::asio::signal_set signals_;
  DeadlineTimer deadline_;  ///< the set's one deadline (the earliest of its children's)
  LifecycleState last_reported_state_ = LifecycleState::exited;
  int exit_code_ = 0;
  bool finished_ = false;
};

}  // namespace visor
