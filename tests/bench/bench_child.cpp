// visor-bench-child: the program the benchmarks supervise (under visor, tini, dumb-init).
// It does only what its flags say, and records times with CLOCK_MONOTONIC in nanoseconds:
//   version              print the version stored in the binary's own trailer (see below), exit 0
//   --signal-fifo F      open the FIFO F for writing, write one 8-byte 0 ("ready"), then on every
//                        SIGUSR1 write the 8-byte CLOCK_MONOTONIC time taken in the handler
//   --times F            append "start <ns>" at entry of main; on SIGTERM append "term <ns>",
//                        wait --shutdown-ms, append "exit <ns>" and exit 0
//   --shutdown-ms N      simulated shutdown work after SIGTERM (default 0)
// Without flags it waits for signals forever (SIGTERM ends it).
//
// Version trailer: the benchmarks make one copy of this binary per version and append
// "\nVISOR_BENCH_VERSION=1.2.3\n" to it; the ELF loader ignores bytes after the sections, so
// each copy runs the same code but answers `version` differently (as a real node binary does).
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

int g_fifo = -1;
int g_times = -1;
int g_shutdown_ms = 0;

std::int64_t now_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

// Async-signal-safe: formats "<label> <ns>\n" by hand and appends it with one write().
void log_time(const char* label, std::int64_t ns) {
  if (g_times < 0) return;
  char line[64];
  std::size_t length = 0;
  for (const char* c = label; *c != '\0' && length < 20; ++c) line[length++] = *c;
  line[length++] = ' ';
  char digits[24];
  std::size_t count = 0;
  do {
    digits[count++] = static_cast<char>('0' + ns % 10);
    ns /= 10;
  } while (ns > 0 && count < sizeof digits);
  while (count > 0) line[length++] = digits[--count];
  line[length++] = '\n';
  const ssize_t ignored = write(g_times, line, length);
  (void)ignored;
}

void write_stamp(std::int64_t stamp) {
  if (g_fifo < 0) return;
  const ssize_t ignored = write(g_fifo, &stamp, sizeof stamp);
  (void)ignored;
}

void on_usr1(int) {
  const int saved = errno;
  write_stamp(now_ns());
  errno = saved;
}

void on_term(int) {
  log_time("term", now_ns());
  if (g_shutdown_ms > 0) {
    timespec pause_for{g_shutdown_ms / 1000, static_cast<long>(g_shutdown_ms % 1000) * 1000000L};
    while (nanosleep(&pause_for, &pause_for) != 0 && errno == EINTR) {
    }
  }
  log_time("exit", now_ns());
  _exit(0);
}

// The version from the trailer "VISOR_BENCH_VERSION=<v>" in the last 256 bytes of the binary.
std::string own_version() {
  const int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  const off_t size = lseek(fd, 0, SEEK_END);
  const off_t from = size > 256 ? size - 256 : 0;
  char tail[257] = {};
  const ssize_t got = pread(fd, tail, 256, from);
  close(fd);
  if (got <= 0) return {};
  const std::string text(tail, static_cast<std::size_t>(got));
  const std::string key = "VISOR_BENCH_VERSION=";
  const auto at = text.rfind(key);
  if (at == std::string::npos) return {};
  const auto end = text.find('\n', at);
  return text.substr(at + key.size(),
                     end == std::string::npos ? std::string::npos : end - at - key.size());
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t started = now_ns();
  if (argc > 1 && std::strcmp(argv[1], "version") == 0) {
    const std::string version = own_version();
    if (version.empty()) {
      std::fprintf(stderr, "visor-bench-child: no version trailer\n");
      return 1;
    }
    std::printf("%s\n", version.c_str());
    return 0;
  }
  const char* fifo_path = nullptr;
  for (int index = 1; index + 1 < argc; ++index) {
    const std::string flag = argv[index];
    if (flag == "--signal-fifo") {
      fifo_path = argv[++index];
    } else if (flag == "--times") {
      g_times = open(argv[++index], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (g_times < 0) {
        std::fprintf(stderr, "visor-bench-child: open %s: %s\n", argv[index], std::strerror(errno));
        return 1;
      }
    } else if (flag == "--shutdown-ms") {
      g_shutdown_ms = std::atoi(argv[++index]);
    }
  }
  log_time("start", started);

  struct sigaction action {};
  sigemptyset(&action.sa_mask);
  action.sa_handler = on_term;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  action.sa_handler = on_usr1;
  action.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &action, nullptr);

  if (fifo_path != nullptr) {
    g_fifo = open(fifo_path, O_WRONLY | O_CLOEXEC);
    if (g_fifo < 0) {
      std::fprintf(stderr, "visor-bench-child: open %s: %s\n", fifo_path, std::strerror(errno));
      return 1;
    }
    write_stamp(0);  // ready: the handler is installed
  }
  while (true) pause();
}
