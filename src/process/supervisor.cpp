#include "visor/process/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include <cerrno>

#include "visor/common/log.h"

namespace visor {

namespace {

// Writes all of `data` to `fd`, retrying short writes; output of the child must not be lost.
void write_all(int fd, const char* data, std::size_t length) {
  while (length > 0) {
    const ssize_t written = ::write(fd, data, length);
    if (written < 0) {
      if (errno == EINTR) continue;
      return;  // visor's own stdout is gone; nothing sensible remains to do with the bytes
    }
    data += written;
    length -= static_cast<std::size_t>(written);
  }
}

}  // namespace

Supervisor::Supervisor(boost::asio::io_context& io, const Options& options, const Clock& clock,
                       SpawnOptions child, SupervisorHooks hooks)
    : io_(io),
      options_(options),
      clock_(clock),
      child_(std::move(child)),
      hooks_(std::move(hooks)),
      random_(std::random_device{}()),
      lifecycle_(LifecyclePolicy::from(options), clock_,
                 [this] { return std::uniform_real_distribution<double>(0.0, 1.0)(random_); }),
      signals_(io),
      deadline_(io, [this] { handle({LifecycleEvent::Kind::deadline}); }) {
  if (!options.ready_pattern.empty()) {
    watch_output_ = true;
    for (auto& output : outputs_) {
      output.lines = std::make_unique<LineMatcher>(options.ready_pattern);
      if (!output.lines->ok()) watch_output_ = false;  // checked at config time; never here
    }
  }
}

Supervisor::~Supervisor() { ProcessTable::instance().set_reaper_active(false); }

void Supervisor::start(std::optional<SwitchRequest> probation) {
  for (const int signal_number : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD}) {
    boost::system::error_code error;
    signals_.add(signal_number, error);
    if (error) {
      log::error("signal_setup",
                 "cannot handle signal " + signal_name(signal_number) + ": " + error.message());
    }
  }
  ProcessTable::instance().set_reaper_active(true);
  wait_for_signal();
  if (watch_output_) {
    for (int index = 0; index < 2; ++index) {
      int ends[2];
      if (pipe2(ends, O_CLOEXEC) != 0) {
        log::error("pipe",
                   "cannot create the output pipe for --ready-pattern: " + errno_text(errno));
        watch_output_ = false;
        break;
      }
      // The write end stays open in visor so that every restart shares the same pipe.
      write_fds_[static_cast<std::size_t>(index)] = ends[1];
      outputs_[static_cast<std::size_t>(index)].reader =
          std::make_unique<boost::asio::posix::stream_descriptor>(io_, ends[0]);
      read_output(index);
    }
  }
  LifecycleEvent start{LifecycleEvent::Kind::start};
  start.upgrade_start = probation.has_value();
  if (probation) extra_arguments_ = probation->extra_arguments;
  handle(start);
  ProcessTable::instance().reap();  // anything that ended before the handler was installed
}

// Requests from the upgrade manager run from the loop, never inside its own handler.
void Supervisor::post(LifecycleEvent::Kind kind) {
  boost::asio::post(io_, [this, kind] { handle({kind}); });
}

void Supervisor::hold() { post(LifecycleEvent::Kind::hold_requested); }

void Supervisor::start_upgrade(SwitchRequest request) {
  boost::asio::post(io_, [this, request = std::move(request)] {
    extra_arguments_ = request.extra_arguments;
    handle({LifecycleEvent::Kind::switch_requested});
  });
}

void Supervisor::release() { post(LifecycleEvent::Kind::release_requested); }

void Supervisor::wait_for_signal() {
  signals_.async_wait([this](const boost::system::error_code& error, int signal_number) {
    if (error) return;  // cancelled: visor is exiting
    on_signal(signal_number);
    if (!finished_) wait_for_signal();
  });
}

void Supervisor::on_signal(int signal_number) {
  if (signal_number == SIGCHLD) {
    const int orphans = ProcessTable::instance().reap();
    if (orphans > 0) {
      log::debug("orphans_reaped", "reaped " + std::to_string(orphans) + " orphaned process(es)");
      if (hooks_.on_change) hooks_.on_change(lifecycle_.state(), child_pid_);
    }
    return;
  }
  if (signal_number == SIGTERM || signal_number == SIGINT) {
    log::info("stop_requested",
              "received SIG" + signal_name(signal_number) + ", stopping the child",
              {{"pid", std::to_string(child_pid_)}});
    handle({LifecycleEvent::Kind::stop_requested, {}, signal_number});
    return;
  }
  if (child_pid_ > 0) {
    // The signal first, the log line after: the latency an operator's signal sees is the kill().
    if (::kill(child_pid_, signal_number) != 0) {
      log::warn("signal_forward_failed", "kill(" + std::to_string(child_pid_) + ", SIG" +
                                             signal_name(signal_number) +
                                             "): " + errno_text(errno));
      return;
    }
    log::debug("signal_forwarded", "forwarded SIG" + signal_name(signal_number) + " to the child",
               {{"pid", std::to_string(child_pid_)}});
  }
}

void Supervisor::handle(const LifecycleEvent& event) {
  if (finished_) return;
  for (const auto& action : lifecycle_.handle(event)) {
    carry_out(action);
    if (finished_) return;
  }
  arm_deadline();
  const LifecycleState state = lifecycle_.state();
  if (state != last_reported_state_) {
    last_reported_state_ = state;
    if (state == LifecycleState::backoff) {
      log::info("restart_scheduled",
                "restarting the child in " + std::to_string(lifecycle_.last_delay().count()) + "ms",
                {{"restarts", std::to_string(lifecycle_.restarts())}});
    }
    if (hooks_.on_change) hooks_.on_change(state, child_pid_);
  }
}

void Supervisor::carry_out(const LifecycleAction& action) {
  using Do = LifecycleAction::Kind;
  switch (action.kind) {
    case Do::spawn:
      spawn_child(action.upgrade_start);
      break;
    case Do::signal_child:
      if (child_pid_ > 0 && ::kill(child_pid_, action.value) != 0) {
        log::warn("signal_failed", "kill(" + std::to_string(child_pid_) + ", SIG" +
                                       signal_name(action.value) + "): " + errno_text(errno));
      }
      break;
    case Do::kill_group:
      if (child_pid_ > 0) {
        log::warn("stop_timeout",
                  "the child did not stop within " + std::to_string(options_.stop_timeout.count()) +
                      "ms; sending SIGKILL to its process group",
                  {{"pid", std::to_string(child_pid_)}});
        if (::kill(-child_pid_, SIGKILL) != 0 && ::kill(child_pid_, SIGKILL) != 0) {
          log::error("kill_failed",
                     "kill(" + std::to_string(child_pid_) + ", SIGKILL): " + errno_text(errno));
        }
      }
      break;
    case Do::report:
      if (hooks_.on_outcome) hooks_.on_outcome(action.outcome, action.reason);
      break;
    case Do::exit:
      finished_ = true;
      exit_code_ = action.value;
      if (action.value == 1 && action.reason.rfind("giving up", 0) == 0) {
        log::error("gave_up", action.reason);
      } else {
        log::info("exiting", action.reason, {{"code", std::to_string(action.value)}});
      }
      if (hooks_.on_change) hooks_.on_change(LifecycleState::exited, 0);
      signals_.cancel();
      deadline_.cancel();
      for (int index = 0; index < 2; ++index) drain_output(index);
      ProcessTable::instance().set_reaper_active(false);
      io_.stop();
      break;
  }
}

void Supervisor::spawn_child(bool upgrade_start) {
  SpawnOptions spawn = child_;
  if (upgrade_start) {
    spawn.argv.insert(spawn.argv.end(), extra_arguments_.begin(), extra_arguments_.end());
  }
  int stdin_fd = -1;
  if (!options_.stdin_file.empty()) {
    // Opened afresh for every start, so each child reads it from the beginning. O_NONBLOCK keeps
    // the open of a FIFO without a writer from stalling the loop (the child gets a blocking fd;
    // a FIFO's writer must be attached by then, or the child reads end-of-file, as documented).
    stdin_fd = ::open(options_.stdin_file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (stdin_fd >= 0) {
      const int flags = ::fcntl(stdin_fd, F_GETFL);
      if (flags >= 0) ::fcntl(stdin_fd, F_SETFL, flags & ~O_NONBLOCK);
    } else {
      // Never visor's own stdin instead (a terminal the child would wait on): an empty one.
      log::error("stdin_file", "cannot open --stdin-file " + options_.stdin_file + ": " +
                                   errno_text(errno) + "; the child gets an empty stdin");
      stdin_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
    }
    spawn.stdin_fd = stdin_fd;
  }
  if (watch_output_) {
    spawn.stdout_fd = write_fds_[0];
    spawn.stderr_fd = write_fds_[1];
  }
  int exec_errno = 0;
  auto pid = ProcessTable::instance().spawn(
      spawn,
      [this](pid_t pid, ExitStatus status) {
        if (pid != child_pid_) return;
        child_pid_ = 0;
        log::info("child_exited", "child ended with " + status.describe(),
                  {{"pid", std::to_string(pid)}, {"state", to_string(lifecycle_.state())}});
        LifecycleEvent exited{LifecycleEvent::Kind::child_exited, status};
        const LifecycleState state = lifecycle_.state();
        exited.halted = (state == LifecycleState::running || state == LifecycleState::probation) &&
                        hooks_.network_halted && hooks_.network_halted(status);
        if (exited.halted) {
          log::info("halted",
                    "the network halted for an upgrade: the old version is not "
                    "started again");
        }
        handle(exited);
      },
      &exec_errno);
  if (stdin_fd >= 0) ::close(stdin_fd);
  if (!pid) {
    log::error("spawn_failed", pid.error());
    ExitStatus status;
    status.raw = (exec_errno == ENOENT ? 127 : 126) << 8;
    handle({LifecycleEvent::Kind::spawn_failed, status});
    return;
  }
  child_pid_ = pid.value();
  log::info("child_started", "started " + spawn.path, {{"pid", std::to_string(child_pid_)}});
  handle({LifecycleEvent::Kind::spawned});
}

void Supervisor::arm_deadline() { deadline_.arm(lifecycle_.deadline()); }

void Supervisor::drain_output(int index) {
  auto& output = outputs_[static_cast<std::size_t>(index)];
  if (!output.reader) return;
  // The child is gone: copy what it wrote last, without blocking, before visor exits.
  const int fd = output.reader->native_handle();
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  ssize_t got;
  while ((got = ::read(fd, output.buffer.data(), output.buffer.size())) > 0) {
    write_all(index == 0 ? STDOUT_FILENO : STDERR_FILENO, output.buffer.data(),
              static_cast<std::size_t>(got));
  }
  output.reader->close();
  output.reader.reset();
  if (write_fds_[static_cast<std::size_t>(index)] >= 0)
    ::close(write_fds_[static_cast<std::size_t>(index)]);
  write_fds_[static_cast<std::size_t>(index)] = -1;
}

void Supervisor::read_output(int index) {
  auto& output = outputs_[static_cast<std::size_t>(index)];
  output.reader->async_read_some(
      boost::asio::buffer(output.buffer),
      [this, index](const boost::system::error_code& error, std::size_t length) {
        if (error) return;  // closed at exit
        scan_output(index, length);
        if (!finished_) read_output(index);
      });
}

void Supervisor::scan_output(int index, std::size_t length) {
  auto& output = outputs_[static_cast<std::size_t>(index)];
  write_all(index == 0 ? STDOUT_FILENO : STDERR_FILENO, output.buffer.data(), length);
  // Only a new version on probation is scanned: a chatty node costs no regex work otherwise.
  if (!lifecycle_.awaiting_ready()) {
    output.lines->reset();
    return;
  }
  const bool seen = output.lines->feed(std::string_view(output.buffer.data(), length));
  if (seen) handle({LifecycleEvent::Kind::ready_seen});
}

}  // namespace visor
