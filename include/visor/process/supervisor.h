// The supervisor: carries out the Lifecycle's decisions on one Boost.Asio io_context.
//
// It owns every signal visor handles (one signal_set), the child process, the one timer of the
// lifecycle and, with --ready-pattern, the pipes that copy the child's output while scanning it.
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

namespace visor {

/// A new version to start on probation: `current` already points at it.
struct SwitchRequest {
  std::string version;
  std::vector<std::string> extra_arguments;  ///< appended to the child's argv (--upgrade-args)
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
  /// Called after every state change and after orphans were reaped, with the child's pid (0
  /// when none runs); the last call has LifecycleState::exited.
  std::function<void(LifecycleState state, pid_t child)> on_change;
};

class Supervisor {
 public:
  /// `child` is what every start runs (the path of `current`'s binary, argv, environment).
  Supervisor(boost::asio::io_context& io, const Options& options, const Clock& clock,
             SpawnOptions child, SupervisorHooks hooks);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  /// Installs the signal handlers and starts the child. Call once, then run the io_context.
  /// `probation`: the first child is a new version on probation (a resumed switch).
  void start(std::optional<SwitchRequest> probation = std::nullopt);
  /// Stop the child (stop signal, timeout, SIGKILL) and keep it stopped: reports `stopped`
  /// (or `dropped`). A new version on probation that is asked to stop has passed.
  void hold();
  /// Start the new version `request` names on probation: reports `passed` or `rolled_back`
  /// (or `dropped` when the child is not held).
  void start_upgrade(SwitchRequest request);
  /// Start the current version again after a hold.
  void release();
  /// The exit code once the io_context has stopped.
  int exit_code() const { return exit_code_; }
  pid_t child_pid() const { return child_pid_; }
  LifecycleState state() const { return lifecycle_.state(); }
  const Lifecycle& lifecycle() const { return lifecycle_; }

 private:
  void handle(const LifecycleEvent& event);
  void carry_out(const LifecycleAction& action);
  void spawn_child(bool upgrade_start);
  void post(LifecycleEvent::Kind kind);
  void wait_for_signal();
  void on_signal(int signal_number);
  void arm_deadline();
  void read_output(int index);
  void drain_output(int index);
  void scan_output(int index, std::size_t length);

  boost::asio::io_context& io_;
  const Options& options_;
  const Clock& clock_;
  SpawnOptions child_;
  SupervisorHooks hooks_;
  std::vector<std::string> extra_arguments_;  ///< of the switch under way
  std::mt19937_64 random_;
  Lifecycle lifecycle_;
  boost::asio::signal_set signals_;
  DeadlineTimer deadline_;  ///< the lifecycle's one deadline
  pid_t child_pid_ = 0;
  LifecycleState last_reported_state_ = LifecycleState::exited;
  int exit_code_ = 0;
  bool finished_ = false;

  // Only with --ready-pattern: the child's stdout (0) and stderr (1) pass through visor.
  bool watch_output_ = false;
  struct OutputPipe {
    std::unique_ptr<boost::asio::posix::stream_descriptor> reader;
    std::array<char, 8192> buffer{};
    std::unique_ptr<LineMatcher> lines;  ///< bounded: at most LineMatcher::kMaxLine buffered
  };
  std::array<OutputPipe, 2> outputs_;
  std::array<int, 2> write_fds_{-1, -1};
};

}  // namespace visor
