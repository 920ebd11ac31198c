#include "visor/process/captured_run.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "visor/common/command_line.h"

namespace visor {

Result<CapturedRun> run_captured(const std::vector<std::string>& argv, Duration timeout,
                                 std::size_t max_output) {
  if (argv.empty()) return Result<CapturedRun>::failure("run: empty command line");
  const std::string described = join_command_line(argv);
  int output[2];
  if (pipe2(output, O_CLOEXEC) != 0) {
    return Result<CapturedRun>::failure(described + ": pipe2: " + errno_text(errno));
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  SpawnOptions spawn;
  spawn.path = argv.front();
  spawn.argv = argv;
  spawn.stdin_fd = null_fd;
  spawn.stdout_fd = output[1];
  spawn.stderr_fd = output[1];
  auto& table = ProcessTable::instance();
  auto pid = table.spawn(spawn);
  ::close(output[1]);
  if (null_fd >= 0) ::close(null_fd);
  if (!pid) {
    ::close(output[0]);
    return Result<CapturedRun>::failure(described + ": " + pid.error());
  }

  CapturedRun run;
  const auto deadline = SteadyClock::now() + timeout;
  char buffer[4096];
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) {
      run.timed_out = true;
      break;
    }
    pollfd wait_for{output[0], POLLIN, 0};
    const int ready = ::poll(&wait_for, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      run.timed_out = ready == 0;
      break;
    }
    const ssize_t got = ::read(output[0], buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // EOF: the command (and anything it spawned) closed its output
    const std::size_t room = max_output - std::min(max_output, run.output.size());
    const auto size = static_cast<std::size_t>(got);
    run.output.append(buffer, std::min(room, size));
    run.truncated = run.truncated || size > room;
  }
  ::close(output[0]);
  if (run.timed_out) ::kill(pid.value(), SIGKILL);
  run.status = table.wait(pid.value(), run.timed_out ? Duration(5000) : timeout);
  if (!run.status) {
    ::kill(pid.value(), SIGKILL);
    run.status = table.wait(pid.value(), Duration(5000));
  }
  return run;
}

}  // namespace visor
