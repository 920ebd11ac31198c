// visor-signal-bench: signal forwarding latency of a process wrapper (visor, tini, dumb-init).
//
//   visor-signal-bench --fifo PATH [--count N] [--warmup N] -- WRAPPER ARGS...
//
// Creates the FIFO PATH, starts WRAPPER ARGS... (which must end up running
// `visor-bench-child --signal-fifo PATH`), waits for the child's "ready" record, then N times:
// takes CLOCK_MONOTONIC, sends SIGUSR1 to the wrapper, and waits for the child's handler to
// write its own CLOCK_MONOTONIC time into the FIFO. The latency of one signal is the child's
// time minus the time taken just before kill(): wrapper wake-up, forwarding and delivery.
// One signal is in flight at a time, so none is merged with another. Finally SIGTERM stops
// the wrapper. Prints one line:
//   count=N median_us=... p90_us=... p99_us=... max_us=... mean_us=...
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

namespace {

std::int64_t now_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "visor-signal-bench: %s\n", message.c_str());
  std::exit(1);
}

// Reads one 8-byte record from `fd` within `timeout_ms`; false on timeout or end of file.
bool read_stamp(int fd, std::int64_t& stamp, int timeout_ms) {
  char* out = reinterpret_cast<char*>(&stamp);
  std::size_t have = 0;
  const std::int64_t deadline = now_ns() + static_cast<std::int64_t>(timeout_ms) * 1000000;
  while (have < sizeof stamp) {
    const std::int64_t left_ms = (deadline - now_ns()) / 1000000;
    if (left_ms <= 0) return false;
    pollfd wanted{fd, POLLIN, 0};
    const int ready = poll(&wanted, 1, static_cast<int>(left_ms));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    const ssize_t got = read(fd, out + have, sizeof stamp - have);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) return false;
    have += static_cast<std::size_t>(got);
  }
  return true;
}

double percentile(const std::vector<double>& sorted, double fraction) {
  if (sorted.empty()) return 0;
  const auto index =
      static_cast<std::size_t>(fraction * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  std::string fifo;
  int count = 1000;
  int warmup = 50;
  int first_command = -1;
  for (int index = 1; index < argc; ++index) {
    const std::string flag = argv[index];
    if (flag == "--") {
      first_command = index + 1;
      break;
    }
    if (index + 1 >= argc) die("missing value for " + flag);
    if (flag == "--fifo") {
      fifo = argv[++index];
    } else if (flag == "--count") {
      count = std::atoi(argv[++index]);
    } else if (flag == "--warmup") {
      warmup = std::atoi(argv[++index]);
    } else {
      die("unknown flag " + flag);
    }
  }
  if (fifo.empty() || first_command < 0 || first_command >= argc || count <= 0) {
    die("usage: visor-signal-bench --fifo PATH [--count N] [--warmup N] -- WRAPPER ARGS...");
  }
  unlink(fifo.c_str());
  if (mkfifo(fifo.c_str(), 0600) != 0) die("mkfifo " + fifo + ": " + std::strerror(errno));
  // Opened before the child starts (non-blocking), so the child's open for writing succeeds.
  const int reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (reader < 0) die("open " + fifo + ": " + std::strerror(errno));

  const pid_t wrapper = fork();
  if (wrapper < 0) die(std::string("fork: ") + std::strerror(errno));
  if (wrapper == 0) {
    execvp(argv[first_command], argv + first_command);
    std::fprintf(stderr, "visor-signal-bench: exec %s: %s\n", argv[first_command],
                 std::strerror(errno));
    _exit(127);
  }
  std::int64_t stamp = -1;
  if (!read_stamp(reader, stamp, 15000) || stamp != 0) {
    kill(wrapper, SIGKILL);
    die("the child did not report ready within 15 s");
  }

  std::vector<double> latencies_us;
  latencies_us.reserve(static_cast<std::size_t>(count));
  for (int round = 0; round < warmup + count; ++round) {
    const std::int64_t sent = now_ns();
    if (kill(wrapper, SIGUSR1) != 0) die(std::string("kill: ") + std::strerror(errno));
    if (!read_stamp(reader, stamp, 5000)) {
      kill(wrapper, SIGKILL);
      die("signal " + std::to_string(round) + " did not reach the child within 5 s");
    }
    if (round >= warmup) latencies_us.push_back(static_cast<double>(stamp - sent) / 1000.0);
  }
  kill(wrapper, SIGTERM);
  int status = 0;
  for (int tries = 0; tries < 500; ++tries) {
    if (waitpid(wrapper, &status, WNOHANG) == wrapper) break;
    if (tries == 499) {
      kill(wrapper, SIGKILL);
      waitpid(wrapper, &status, 0);
    }
    usleep(10000);
  }
  close(reader);
  unlink(fifo.c_str());

  std::sort(latencies_us.begin(), latencies_us.end());
  const double mean = std::accumulate(latencies_us.begin(), latencies_us.end(), 0.0) /
                      static_cast<double>(latencies_us.size());
  std::printf("count=%zu median_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f mean_us=%.1f\n",
              latencies_us.size(), percentile(latencies_us, 0.5), percentile(latencies_us, 0.9),
              percentile(latencies_us, 0.99), latencies_us.back(), mean);
  return 0;
}
