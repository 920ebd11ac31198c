// The supervisor: carries out the Lifecycle's decisions on one Boost.Asio io_context.
//
// It owns every signal visor handles (one signal_set), the child process, the one timer of the
// lifecycle and, with --ready-pattern, the pipes that copy the child's output while scanning it.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "visor/common/clock.h"
#include "visor/common/line_matcher.h"
#include "visor/config/options.h"
#include "visor/process/lifecycle.h"
#include "visor/process/process_table.h"

namespace visor {

/// What the supervisor asks of the rest of visor: where the child comes from, and what to do
/// when the lifecycle switches versions. Empty functions are skipped.
struct SupervisorHooks {
  /// The executable and argv of the next start; `upgrade_start` is the first start of a new
  /// version (the place to add --upgrade-args).
  std::function<SpawnOptions(bool upgrade_start)> prepare_spawn;
  /// Point `current` at the requested version; false aborts the upgrade (the old one restarts).
  std::function<bool()> switch_to_upgrade;
  /// The new version failed (`reason`); mark it and point `current` back.
  std::function<void(const std::string& reason)> roll_back;
  /// The new version passed its probation.
  std::function<void()> commit_upgrade;
  /// Called after every state change, with the child's pid (0 when none runs).
  std::function<void(LifecycleState state, pid_t child)> on_state_change;
  /// Called after orphans (processes visor did not spawn) were reaped; `total` since start.
  std::function<void(std::uint64_t total)> on_orphans_reaped;
  /// Called once, just before visor exits with `code`.
  std::function<void(int code, const std::string& reason)> on_exit;
};

class Supervisor {
 public:
  Supervisor(boost::asio::io_context& io, const Options& options, SupervisorHooks hooks);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  /// Installs the signal handlers and starts the child. Call once, then run the io_context.
  /// `upgrade_start`: the first child is a new version on probation (a resumed switch).
  void start(bool upgrade_start = false);
  /// Switch to the version the hooks name, through a graceful stop of the current child.
  void request_upgrade();
  /// The exit code once the io_context has stopped.
  int exit_code() const { return exit_code_; }
  pid_t child_pid() const { return child_pid_; }
  LifecycleState state() const { return lifecycle_.state(); }
  const Lifecycle& lifecycle() const { return lifecycle_; }

 private:
  void handle(const LifecycleEvent& event);
  void carry_out(const LifecycleAction& action);
  void spawn_child(bool upgrade_start);
  void wait_for_signal();
  void on_signal(int signal_number);
  void arm_deadline();
  void read_output(int index);
  void drain_output(int index);
  void scan_output(int index, std::size_t length);

  boost::asio::io_context& io_;
  const Options& options_;
  SupervisorHooks hooks_;
  RealClock clock_;
  std::mt19937_64 random_;
  Lifecycle lifecycle_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer timer_;
  std::optional<TimePoint> armed_deadline_;
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
