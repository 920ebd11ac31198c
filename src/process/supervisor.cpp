#include "visor/process/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include <cerrno>

#include "visor/common/clock.h"
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
                       std::vector<ChildLaunch> children, SupervisorHooks hooks)
    : io_(io),
      options_(options),
      clock_(clock),
      hooks_(std::move(hooks)),
      random_(std::random_device{}()),
      set_(SetPolicy::from(options), clock_,
           [this] { return std::uniform_real_distribution<double>(0.0, 1.0)(random_); }),
      signals_(io),
      deadline_(io, [this] { handle(LifecycleEvent::Kind::deadline); }) {
  children_.resize(children.size());
  for (std::size_t index = 0; index < children.size(); ++index) {
    Child& child = children_[index];
    child.launch = std::move(children[index]);
    if (child.launch.ready_pattern.empty()) continue;
    child.watch_output = true;
    for (auto& output : child.outputs) {
      output.lines = std::make_unique<LineMatcher>(child.launch.ready_pattern);
      if (!output.lines->ok()) child.watch_output = false;  // checked at config time; never here
    }
  }
}

Supervisor::~Supervisor() { ProcessTable::instance().set_reaper_active(false); }

std::string Supervisor::label(std::size_t index) const {
  return children_.size() == 1 ? std::string("the child") : "child " + set_.name(index);
}

void Supervisor::start(std::optional<SwitchRequest> probation, bool held) {
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
  for (std::size_t index = 0; index < children_.size(); ++index) open_output(index);
  if (held && !probation) {
    // The network halted before visor (re)started: the old version is not run again; the
    // children are held at once and the upgrade manager says what starts.
    handle(SetEvent{LifecycleEvent{LifecycleEvent::Kind::hold_requested}, 0});
  } else {
    LifecycleEvent start{LifecycleEvent::Kind::start};
    start.upgrade_start = probation.has_value();
    if (probation) switch_ = *probation;
    handle(SetEvent{start, 0});
  }
  ProcessTable::instance().reap();  // anything that ended before the handler was installed
}

void Supervisor::open_output(std::size_t index) {
  Child& child = children_[index];
  if (!child.watch_output) return;
  for (int stream = 0; stream < 2; ++stream) {
    int ends[2];
    if (pipe2(ends, O_CLOEXEC) != 0) {
      log::error("pipe", "cannot create the output pipe for --ready-pattern: " + errno_text(errno));
      child.watch_output = false;
      return;
    }
    // The write end stays open in visor so that every restart shares the same pipe.
    child.write_fds[static_cast<std::size_t>(stream)] = ends[1];
    child.outputs[static_cast<std::size_t>(stream)].reader =
        std::make_unique<boost::asio::posix::stream_descriptor>(io_, ends[0]);
    read_output(index, stream);
  }
}

// Requests from the upgrade manager run from the loop, never inside its own handler.
void Supervisor::hold() {
  boost::asio::post(io_, [this] { handle(LifecycleEvent::Kind::hold_requested); });
}

void Supervisor::start_upgrade(SwitchRequest request) {
  boost::asio::post(io_, [this, request = std::move(request)] {
    switch_ = request;
    handle(LifecycleEvent::Kind::switch_requested);
  });
}

void Supervisor::release() {
  boost::asio::post(io_, [this] { handle(LifecycleEvent::Kind::release_requested); });
}

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
      if (hooks_.on_change) hooks_.on_change(set_.state(), child_pid(0));
    }
    return;
  }
  if (signal_number == SIGTERM || signal_number == SIGINT) {
    log::info("stop_requested",
              "received SIG" + signal_name(signal_number) + ", stopping " +
                  (children_.size() == 1 ? std::string("the child") : std::string("the children")),
              {{"pid", std::to_string(child_pid(0))}});
    handle(SetEvent{{LifecycleEvent::Kind::stop_requested, {}, signal_number}, 0});
    return;
  }
  // HUP, QUIT, USR1, USR2: to every child at once. The signal first, the log line after: the
  // latency an operator's signal sees is the kill().
  for (std::size_t index = 0; index < children_.size(); ++index) {
    const pid_t pid = children_[index].pid;
    if (pid <= 0) continue;
    if (::kill(pid, signal_number) != 0) {
      log::warn("signal_forward_failed", "kill(" + std::to_string(pid) + ", SIG" +
                                             signal_name(signal_number) +
                                             "): " + errno_text(errno));
      continue;
    }
    log::debug("signal_forwarded",
               "forwarded SIG" + signal_name(signal_number) + " to " + label(index),
               {{"pid", std::to_string(pid)}});
  }
}

// True when the set's state or any child's state or pid changed since the last call.
bool Supervisor::changed() {
  bool any = false;
  const LifecycleState state = set_.state();
  if (state != last_reported_state_) {
    if (state == LifecycleState::backoff && children_.size() > 1) {  // --group together
      log::info("restart_scheduled",
                "restarting the set in " + std::to_string(set_.restart_delay(0).count()) + "ms",
                {{"restarts", std::to_string(set_.restarts(0))}});
    }
    last_reported_state_ = state;
    any = true;
  }
  for (std::size_t index = 0; index < children_.size(); ++index) {
    Child& child = children_[index];
    const LifecycleState child_state = set_.child_state(index);
    if (child_state != child.reported || child.pid != child.reported_pid) {
      if (child_state == LifecycleState::backoff && child.reported != LifecycleState::backoff) {
        log::info("restart_scheduled",
                  "restarting " + label(index) + " in " +
                      std::to_string(set_.restart_delay(index).count()) + "ms",
                  {{"restarts", std::to_string(set_.restarts(index))}});
      }
      child.reported = child_state;
      child.reported_pid = child.pid;
      any = true;
    }
  }
  return any;
}

void Supervisor::handle(const SetEvent& event) {
  if (finished_) return;
  for (const auto& action : set_.handle(event)) {
    carry_out(action);
    if (finished_) return;
  }
  arm_deadline();
  if (changed() && hooks_.on_change) hooks_.on_change(set_.state(), child_pid(0));
}

void Supervisor::carry_out(const SetAction& set_action) {
  using Do = LifecycleAction::Kind;
  const LifecycleAction& action = set_action.action;
  const std::size_t index = set_action.child;
  const pid_t pid = index < children_.size() ? children_[index].pid : 0;
  switch (action.kind) {
    case Do::spawn:
      spawn_child(index, action.upgrade_start, set_action.reason);
      break;
    case Do::signal_child:
      if (pid > 0 && ::kill(pid, action.value) != 0) {
        log::warn("signal_failed", "kill(" + std::to_string(pid) + ", SIG" +
                                       signal_name(action.value) + "): " + errno_text(errno));
      }
      break;
    case Do::kill_group:
      if (pid > 0) {
        log::warn("stop_timeout",
                  label(index) + " did not stop within " +
                      std::to_string(options_.stop_timeout.count()) +
                      "ms; sending SIGKILL to its process group",
                  {{"pid", std::to_string(pid)}});
        if (::kill(-pid, SIGKILL) != 0 && ::kill(pid, SIGKILL) != 0) {
          log::error("kill_failed",
                     "kill(" + std::to_string(pid) + ", SIGKILL): " + errno_text(errno));
        }
      }
      break;
    case Do::report:
      if (hooks_.on_outcome) hooks_.on_outcome(action.outcome, action.reason);
      break;
    case Do::exit:
      finished_ = true;
      exit_code_ = action.value;
      if (action.gave_up) {
        log::error("gave_up", action.reason);
      } else {
        log::info("exiting", action.reason, {{"code", std::to_string(action.value)}});
      }
      if (hooks_.on_change) hooks_.on_change(LifecycleState::exited, 0);
      signals_.cancel();
      deadline_.cancel();
      for (std::size_t child = 0; child < children_.size(); ++child) {
        for (int stream = 0; stream < 2; ++stream) drain_output(child, stream);
      }
      ProcessTable::instance().set_reaper_active(false);
      io_.stop();
      break;
  }
}

void Supervisor::spawn_child(std::size_t index, bool upgrade_start, SpawnReason reason) {
  Child& child = children_.at(index);
  SpawnOptions spawn = child.launch.spawn;
  if (upgrade_start) {
    for (auto& word :
         fill_upgrade_args(child.launch.upgrade_args, switch_.version, switch_.height)) {
      spawn.argv.push_back(std::move(word));
    }
  } else if ((reason == SpawnReason::restart || reason == SpawnReason::rollback) &&
             child.launch.restart_arguments) {
    const std::uint64_t asked = ++child.spawns_asked;
    child.launch.restart_arguments(
        [this, index, asked, spawn = std::move(spawn)](std::vector<std::string> extra) mutable {
          // Meanwhile the set may have been stopped (the child's lifecycle left `starting`, or
          // visor is done): nothing is spawned then.
          if (finished_ || children_.at(index).spawns_asked != asked ||
              set_.child_state(index) != LifecycleState::starting) {
            return;
          }
          spawn.argv.insert(spawn.argv.end(), extra.begin(), extra.end());
          launch_child(index, std::move(spawn));
        });
    return;
  }
  launch_child(index, std::move(spawn));
}

void Supervisor::launch_child(std::size_t index, SpawnOptions spawn) {
  Child& child = children_.at(index);
  int stdin_fd = -1;
  const std::string& stdin_file = child.launch.stdin_file;
  if (!stdin_file.empty()) {
    // Opened afresh for every start, so each child reads it from the beginning. O_NONBLOCK keeps
    // the open of a FIFO without a writer from stalling the loop (the child gets a blocking fd;
    // a FIFO's writer must be attached by then, or the child reads end-of-file, as documented).
    stdin_fd = ::open(stdin_file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (stdin_fd >= 0) {
      const int flags = ::fcntl(stdin_fd, F_GETFL);
      if (flags >= 0) ::fcntl(stdin_fd, F_SETFL, flags & ~O_NONBLOCK);
    } else {
      // Never visor's own stdin instead (a terminal the child would wait on): an empty one.
      log::error("stdin_file", "cannot open --stdin-file " + stdin_file + ": " + errno_text(errno) +
                                   "; " + label(index) + " gets an empty stdin");
      stdin_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
    }
    spawn.stdin_fd = stdin_fd;
  }
  if (child.watch_output) {
    spawn.stdout_fd = child.write_fds[0];
    spawn.stderr_fd = child.write_fds[1];
  }
  int exec_errno = 0;
  auto pid = ProcessTable::instance().spawn(
      spawn, [this, index](pid_t ended, ExitStatus status) { on_exit(index, ended, status); },
      &exec_errno);
  if (stdin_fd >= 0) ::close(stdin_fd);
  if (!pid) {
    log::error("spawn_failed", pid.error());
    ExitStatus status;
    status.raw = (exec_errno == ENOENT ? 127 : 126) << 8;
    handle(SetEvent{{LifecycleEvent::Kind::spawn_failed, status}, index});
    return;
  }
  child.pid = pid.value();
  child.started_unixtime = unix_time_now();
  const std::string pid_text = std::to_string(child.pid);
  if (children_.size() > 1) {
    log::info("child_started", "started " + spawn.path + " as " + label(index),
              {{"pid", pid_text}, {"child", set_.name(index)}});
  } else {
    log::info("child_started", "started " + spawn.path, {{"pid", pid_text}});
  }
  handle(SetEvent{{LifecycleEvent::Kind::spawned}, index});
}

void Supervisor::on_exit(std::size_t index, pid_t pid, ExitStatus status) {
  Child& child = children_.at(index);
  if (pid != child.pid) return;
  child.pid = 0;
  child.started_unixtime = 0;
  const LifecycleState state = set_.child_state(index);
  const std::string pid_text = std::to_string(pid);
  if (children_.size() > 1) {
    log::info("child_exited", label(index) + " ended with " + status.describe(),
              {{"pid", pid_text}, {"state", to_string(state)}, {"child", set_.name(index)}});
  } else {
    log::info("child_exited", "child ended with " + status.describe(),
              {{"pid", pid_text}, {"state", to_string(state)}});
  }
  LifecycleEvent exited{LifecycleEvent::Kind::child_exited, status};
  exited.halted = (state == LifecycleState::running || state == LifecycleState::probation) &&
                  hooks_.network_halted && hooks_.network_halted(status);
  if (exited.halted) {
    log::info("halted", "the network halted for an upgrade: the old version is not started again");
  }
  handle(SetEvent{exited, index});
}

void Supervisor::arm_deadline() { deadline_.arm(set_.deadline()); }

void Supervisor::drain_output(std::size_t index, int stream) {
  Child& child = children_[index];
  auto& output = child.outputs[static_cast<std::size_t>(stream)];
  if (!output.reader) return;
  // The child is gone: copy what it wrote last, without blocking, before visor exits.
  const int fd = output.reader->native_handle();
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  ssize_t got;
  while ((got = ::read(fd, output.buffer.data(), output.buffer.size())) > 0) {
    write_all(stream == 0 ? STDOUT_FILENO : STDERR_FILENO, output.buffer.data(),
              static_cast<std::size_t>(got));
  }
  output.reader->close();
  output.reader.reset();
  int& write_fd = child.write_fds[static_cast<std::size_t>(stream)];
  if (write_fd >= 0) ::close(write_fd);
  write_fd = -1;
}

void Supervisor::read_output(std::size_t index, int stream) {
  auto& output = children_[index].outputs[static_cast<std::size_t>(stream)];
  output.reader->async_read_some(
      boost::asio::buffer(output.buffer),
      [this, index, stream](const boost::system::error_code& error, std::size_t length) {
        if (error) return;  // closed at exit
        scan_output(index, stream, length);
        if (!finished_) read_output(index, stream);
      });
}

void Supervisor::scan_output(std::size_t index, int stream, std::size_t length) {
  auto& output = children_[index].outputs[static_cast<std::size_t>(stream)];
  write_all(stream == 0 ? STDOUT_FILENO : STDERR_FILENO, output.buffer.data(), length);
  // Only a new version on probation is scanned: a chatty node costs no regex work otherwise.
  if (!set_.awaiting_ready(index)) {
    output.lines->reset();
    return;
  }
  const bool seen = output.lines->feed(std::string_view(output.buffer.data(), length));
  if (seen) handle(SetEvent{{LifecycleEvent::Kind::ready_seen}, index});
}

}  // namespace visor
