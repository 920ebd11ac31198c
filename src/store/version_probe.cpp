#include "visor/store/version_probe.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "visor/common/command_line.h"
#include "visor/process/process_table.h"

namespace visor {

Result<SemVer> probe_version(const std::string& binary,
                             const std::vector<std::string>& version_args, Duration timeout) {
  std::vector<std::string> argv{binary};
  argv.insert(argv.end(), version_args.begin(), version_args.end());
  const std::string described = join_command_line(argv);

  int output[2];
  if (pipe2(output, O_CLOEXEC) != 0) {
    return Result<SemVer>::failure("version probe " + described + ": pipe2: " + errno_text(errno));
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  SpawnOptions spawn;
  spawn.path = binary;
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
    return Result<SemVer>::failure("version probe " + described + ": " + pid.error());
  }

  std::string text;
  const auto deadline = SteadyClock::now() + timeout;
  bool timed_out = false;
  char buffer[4096];
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd wait_for{output[0], POLLIN, 0};
    const int ready = ::poll(&wait_for, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      timed_out = ready == 0;
      break;
    }
    const ssize_t got = ::read(output[0], buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // EOF: the binary (and anything it spawned) closed its output
    if (text.size() < 64 * 1024) text.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(output[0]);
  if (timed_out) ::kill(pid.value(), SIGKILL);
  auto status = table.wait(pid.value(), timed_out ? Duration(5000) : timeout);
  if (!status) {
    ::kill(pid.value(), SIGKILL);
    status = table.wait(pid.value(), Duration(5000));
  }
  if (timed_out) {
    return Result<SemVer>::failure("version probe " + described + ": timed out after " +
                                   std::to_string(timeout.count()) + "ms");
  }
  auto version = SemVer::find_in(text);
  if (!version) {
    std::string excerpt = text.substr(0, 120);
    for (auto& c : excerpt) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    return Result<SemVer>::failure("version probe " + described + ": printed no version" +
                                   (status ? " (" + status->describe() + ")" : std::string()) +
                                   (excerpt.empty() ? "" : ": '" + excerpt + "'"));
  }
  return *version;
}

}  // namespace visor
