// Fault injection, end to end, against the real build/visor: a full disk during a download, an
// unwritable home, a release server that stalls, drops the connection or truncates bodies,
// and wall-clock jumps under libfaketime. In every case the running child is left alone and
// visor says what went wrong in one clear line.
//
// The disk tests mount small tmpfs file systems (they need root with CAP_SYS_ADMIN, as in the
// project's CI; they are skipped otherwise) and unmount them at the end. The clock test needs
// Debian's libfaketime (package faketime); it is skipped when the library is missing.
#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "e2e_util.h"

namespace visor::e2e {
namespace {

namespace fs = std::filesystem;

bool process_alive(const std::string& pid_text) {
  if (pid_text.empty()) return false;
  return ::kill(static_cast<pid_t>(std::stoi(pid_text)), 0) == 0;
}

// A tmpfs mounted for one test, detached at destruction (even while something still uses it).
class TmpfsMount {
 public:
  TmpfsMount() = default;
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  ~TmpfsMount() {
    if (!path_.empty()) ::umount2(path_.c_str(), MNT_DETACH);
  }
  /// Mounts a tmpfs with `options` (e.g. "size=8m") at `path`; an error text, or "" when mounted.
  std::string mount(const std::string& path, const std::string& options, bool read_only = false) {
    fs::create_directories(path);
    const unsigned long flags = MS_NOSUID | MS_NODEV | (read_only ? MS_RDONLY : 0);
    if (::mount("tmpfs", path.c_str(), "tmpfs", flags, options.c_str()) != 0) {
      return "mount -t tmpfs " + path + ": " + std::strerror(errno);
    }
    path_ = path;
    return {};
  }

 private:
  std::string path_;
};

class FaultIo : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "bin");
    fs::create_directories(dir_ / "releases");
    write_stand_in(dir_ / "bin/lavap", "5.2.1");
  }

  // Publishes 5.3.0 with `padding` bytes of bulk; returns its SHA-256.
  std::string publish(std::size_t padding) {
    write_stand_in(dir_ / "releases/lavap-v5.3.0", "5.3.0", "", padding);
    return sha256sum(dir_ / "releases/lavap-v5.3.0");
  }

  void start_release_server(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> arguments{"--dir",     dir_ / "releases",
                                       "--log",     dir_ / "requests.log",
                                       "--control", dir_ / "control.json"};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    releases_ = start_server("release_server.py", arguments, dir_ / "releases.log");
  }

  // Rewrites the release server's fault settings (atomically, as release_server.py asks).
  void set_faults(const nlohmann::json& faults) {
    replace_file(dir_ / "control.json", faults.dump());
  }

  // The Cosmos plan for v5.3.0, its binary URL with ?checksum=sha256:<hex>.
  void write_upgrade_info(const std::string& sha) {
    const std::string url = releases_.url() + "/lavap-v5.3.0?checksum=sha256:" + sha;
    const nlohmann::json info = {{"binaries", {{"linux/" + host_arch_name(), url}}}};
    const nlohmann::json plan = {{"name", "v5.3.0"}, {"height", 100}, {"info", info.dump()}};
    replace_file(dir_ / "upgrade-info.json", plan.dump());
  }

  std::vector<std::string> wrap(const std::string& home, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{
        visor_binary(),
        "wrap",
        "--home",
        home,
        "--source",
        "cosmos",
        "--upgrade-info",
        dir_ / "upgrade-info.json",
        "--allow-http",
        "--healthy-after",
        "300ms",
        "--stop-timeout",
        "5s",
        "--cmd",
        "lavap --pid-file " + (dir_ / "pids") + " --argv-file " + (dir_ / "argv")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  std::map<std::string, std::string> environment() const {
    const char* path = std::getenv("PATH");
    return {{"PATH", (dir_ / "bin") + ":" + (path ? path : "/usr/bin:/bin")}};
  }

  bool running_version(const std::string& version) const {
    const auto lines = read_lines(dir_ / "argv");
    return !lines.empty() && lines.back() == "running-" + version;
  }
  std::vector<std::string> pids() const { return read_lines(dir_ / "pids"); }
  int artifact_requests() const {
    return count_occurrences(read_file(dir_ / "requests.log"), "/lavap-v5.3.0");
  }

  // The lines of `text` that contain `needle`.
  static std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
    std::vector<std::string> found;
    std::istringstream input(text);
    std::string line;
    while (std::getline(input, line)) {
      if (line.find(needle) != std::string::npos) found.push_back(line);
    }
    return found;
  }

  TempDir dir_;
  TmpfsMount mount_;  // declared after dir_: unmounted before the folder is removed
  Server releases_;
};

// The home is an 8 MiB tmpfs, the artifact 12 MiB: the download fails with ENOSPC, says so in
// one line, deletes its .part (the space is free again) and the old version keeps running.
TEST_F(FaultIo, AFullDiskDuringDownloadKeepsTheOldVersionAndFreesTheSpace) {
  const std::string home = dir_ / "home";
  if (const std::string error = mount_.mount(home, "size=8m,mode=0755"); !error.empty()) {
    GTEST_SKIP() << error << " (needs root with CAP_SYS_ADMIN)";
  }
  const std::string sha = publish(12 << 20);
  start_release_server();
  Process visor(wrap(home), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running_version("5.2.1"); }, 10s)) << visor.output();
  const std::string first_pid = pids().front();
  write_upgrade_info(sha);

  ASSERT_TRUE(wait_until(
      [&] { return !lines_with(visor.output(), "No space left on device").empty(); }, 15s))
      << visor.output();
  const auto lines = lines_with(visor.output(), "No space left on device");
  EXPECT_NE(lines.front().find("ERROR"), std::string::npos) << lines.front();
  EXPECT_NE(lines.front().find(".part"), std::string::npos) << "names the file: " << lines.front();
  // The .part is removed and the space is free again (only the small 5.2.1 remains).
  EXPECT_TRUE(wait_until(
      [&] {
        for (const auto& entry : fs::recursive_directory_iterator(home)) {
          if (entry.path().extension() == ".part") return false;
        }
        return true;
      },
      5s));
  struct statvfs space {};
  ASSERT_EQ(::statvfs(home.c_str(), &space), 0);
  EXPECT_GT(static_cast<double>(space.f_bavail) * space.f_frsize, 7.5 * (1 << 20))
      << "the .part still holds space";
  // The old version runs on, untouched, and visor with it.
  EXPECT_EQ(pids(), std::vector<std::string>{first_pid});
  EXPECT_TRUE(process_alive(first_pid));
  EXPECT_TRUE(running_version("5.2.1"));
  EXPECT_EQ(fs::read_symlink(home + "/current").string(), "upgrades/5.2.1");
  EXPECT_FALSE(fs::exists(home + "/upgrades/5.3.0"));
  EXPECT_TRUE(visor.running());
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(10s), 128 + SIGTERM) << visor.output();
}

// A home on a read-only file system (root ignores permission bits, so chmod would not do):
// visor exits non-zero with a line naming the home and the cause, and starts nothing.
TEST_F(FaultIo, AnUnwritableHomeIsRefusedWithAClearMessage) {
  const std::string read_only = dir_ / "ro";
  if (const std::string error = mount_.mount(read_only, "size=1m", true); !error.empty()) {
    GTEST_SKIP() << error << " (needs root with CAP_SYS_ADMIN)";
  }
  // The read-only mount itself as the home, and a home that would have to be created on it.
  for (const std::string& home : {read_only, read_only + "/home"}) {
    SCOPED_TRACE(home);
    const std::string log = dir_ / ("visor-" + fs::path(home).filename().string() + ".log");
    Process visor(wrap(home), log, environment());
    const auto code = visor.wait(10s);
    ASSERT_TRUE(code.has_value()) << "visor did not exit";
    EXPECT_NE(*code, 0);
    const std::string output = visor.output();
    EXPECT_NE(output.find("Read-only file system"), std::string::npos) << output;
    EXPECT_NE(output.find(home), std::string::npos) << "names the home: " << output;
    EXPECT_EQ(count_occurrences(output, "Read-only file system"), 1) << output;
    EXPECT_TRUE(read_lines(dir_ / "pids").empty()) << "a child was started";
  }
}

// The release server accepts the connection and never answers: with --download-timeout 2s the
// download gives up with one line, the child runs on, and the next try (after the server
// recovers) completes the upgrade.
TEST_F(FaultIo, AStalledReleaseServerTimesOutAndIsRetried) {
  const std::string sha = publish(64 * 1024);
  set_faults({{"stall", true}});
  start_release_server();
  Process visor(wrap(dir_ / "home", {"--download-timeout", "2s"}), dir_ / "visor.log",
                environment());
  ASSERT_TRUE(wait_until([&] { return running_version("5.2.1"); }, 10s)) << visor.output();
  const std::string first_pid = pids().front();
  write_upgrade_info(sha);
  ASSERT_TRUE(
      wait_until([&] { return !lines_with(visor.output(), "staging 5.3.0 failed").empty(); }, 15s))
      << visor.output();
  const auto failures = lines_with(visor.output(), "staging 5.3.0 failed");
  EXPECT_EQ(failures.size(), 1u) << visor.output();
  EXPECT_NE(failures.front().find("timed out"), std::string::npos) << failures.front();
  EXPECT_NE(failures.front().find("/lavap-v5.3.0"), std::string::npos)
      << "names the URL: " << failures.front();
  EXPECT_TRUE(process_alive(first_pid));
  EXPECT_TRUE(running_version("5.2.1"));
  EXPECT_TRUE(visor.running());

  set_faults(nlohmann::json::object());
  ASSERT_TRUE(wait_until([&] { return running_version("5.3.0"); }, 20s)) << visor.output();
  EXPECT_EQ(sha256sum(dir_ / "home/upgrades/5.3.0/lavap"), sha);
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(10s), 128 + SIGTERM);
}

// The server drops the connection in the middle of the first transfer: visor logs the retry
// in one line and resumes with a Range request; the old child runs until the switch.
TEST_F(FaultIo, ADroppedConnectionIsRetriedWithARangeRequest) {
  const std::string sha = publish(1 << 20);
  start_release_server({"--drop-after", "300000"});
  Process visor(wrap(dir_ / "home"), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running_version("5.2.1"); }, 10s)) << visor.output();
  write_upgrade_info(sha);
  ASSERT_TRUE(wait_until([&] { return running_version("5.3.0"); }, 20s)) << visor.output();
  const auto retries = lines_with(visor.output(), "attempt 1 of");
  ASSERT_EQ(retries.size(), 1u) << visor.output();
  EXPECT_NE(retries.front().find("/lavap-v5.3.0"), std::string::npos) << retries.front();
  const std::string requests = read_file(dir_ / "requests.log");
  EXPECT_NE(requests.find("\"range\": \"bytes="), std::string::npos) << requests;
  EXPECT_EQ(pids().size(), 2u) << "the old child ran until the switch";
  EXPECT_EQ(sha256sum(dir_ / "home/upgrades/5.3.0/lavap"), sha);
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(10s), 128 + SIGTERM);
}

// Every GET announces the whole body and sends half: visor never takes a short body for the
// artifact; it logs the failed attempt, keeps the child, and once the server behaves the
// resumed download verifies byte for byte.
TEST_F(FaultIo, ATruncatedBodyIsNeverTakenForTheArtifact) {
  const std::string sha = publish(1 << 20);
  set_faults({{"truncate", true}});
  start_release_server();
  Process visor(wrap(dir_ / "home"), dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running_version("5.2.1"); }, 10s)) << visor.output();
  const std::string first_pid = pids().front();
  write_upgrade_info(sha);
  ASSERT_TRUE(wait_until([&] { return !lines_with(visor.output(), "attempt 1 of").empty(); }, 15s))
      << visor.output();
  EXPECT_NE(lines_with(visor.output(), "attempt 1 of").front().find("/lavap-v5.3.0"),
            std::string::npos);
  EXPECT_TRUE(process_alive(first_pid));
  EXPECT_TRUE(running_version("5.2.1"));
  EXPECT_FALSE(fs::exists(dir_ / "home/upgrades/5.3.0"));
  set_faults(nlohmann::json::object());
  ASSERT_TRUE(wait_until([&] { return running_version("5.3.0"); }, 20s)) << visor.output();
  EXPECT_EQ(sha256sum(dir_ / "home/upgrades/5.3.0/lavap"), sha);
  EXPECT_EQ(lines_with(visor.output(), "checksum mismatch").size(), 0u) << visor.output();
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(10s), 128 + SIGTERM);
}

// libfaketime makes visor's wall clock jump to a year ahead of the real date, then to two years
// behind it (three years back), while the child keeps crashing. (The clock file is replaced by
// rename: libfaketime re-reads it on every call and must never see it half-written. No speed
// factor: with one, libfaketime also rescales sleeps and poll timeouts, and under a loaded CI
// machine a restart then once took over 20 s; that tests libfaketime, not visor's clocks.)
// Restart delays, measured with the real monotonic clock by the child itself, still follow the
// backoff (200, 400, 800, 1600 ms with +-20% jitter), and visor gives up after exactly
// --max-restarts restarts.
TEST_F(FaultIo, WallClockJumpsDoNotBreakTheBackoff) {
  std::string library;
  for (const char* candidate : {"/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                                "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
                                "/usr/lib/faketime/libfaketime.so.1"}) {
    if (fs::exists(candidate)) library = candidate;
  }
  if (library.empty()) GTEST_SKIP() << "libfaketime is not installed (Debian package faketime)";
  const std::string clock_file = dir_ / "faketime.rc";
  replace_file(clock_file, "+0\n");
  const std::string starts = dir_ / "starts";
  // Under AddressSanitizer (scripts/test.sh's second pass) a preloaded library ahead of the
  // ASan runtime is refused unless told otherwise.
  const char* asan_options = std::getenv("ASAN_OPTIONS");
  const std::string sanitizer_options =
      std::string(asan_options != nullptr ? asan_options : "") + ":verify_asan_link_order=0";
  Process visor({visor_binary(), "wrap", "--home", dir_ / "home", "--backoff-initial", "200ms",
                 "--backoff-max", "5s", "--max-restarts", "4", "--restart-window", "1m", "--cmd",
                 test_child_binary() + " --start-log " + starts + " --exit 3 --after 20"},
                dir_ / "visor.log",
                {{"LD_PRELOAD", library},
                 {"FAKETIME_TIMESTAMP_FILE", clock_file},
                 {"FAKETIME_NO_CACHE", "1"},
                 {"FAKETIME_DONT_FAKE_MONOTONIC", "1"},
                 {"ASAN_OPTIONS", sanitizer_options}});
  // Jump the wall clock while visor waits between restarts.
  ASSERT_TRUE(wait_until([&] { return read_lines(starts).size() >= 1; }, 10s)) << visor.output();
  replace_file(clock_file, "+1y\n");
  ASSERT_TRUE(wait_until([&] { return read_lines(starts).size() >= 3; }, 10s)) << visor.output();
  replace_file(clock_file, "-2y\n");
  EXPECT_EQ(visor.wait(20s), 1) << visor.output();

  const auto lines = read_lines(starts);
  ASSERT_EQ(lines.size(), 5u) << "the first start and 4 restarts\n" << visor.output();
  // Each delay is measured from one start to the next and includes the child's 20 ms of life.
  const long long nominal[] = {200, 400, 800, 1600};
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const long long delay = std::stoll(lines[i]) - std::stoll(lines[i - 1]);
    EXPECT_GE(delay, nominal[i - 1] * 8 / 10) << "restart " << i;
    EXPECT_LE(delay, nominal[i - 1] * 12 / 10 + 500) << "restart " << i;
  }
  // visor's own log lines carry the faked wall clock: the jumps really happened to visor.
  const std::string output = visor.output();
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  const int year = utc.tm_year + 1900;
  EXPECT_NE(output.find(std::to_string(year + 1) + "-"), std::string::npos) << output;
  EXPECT_NE(output.find(std::to_string(year - 2) + "-"), std::string::npos) << output;
  EXPECT_EQ(count_occurrences(output, "giving up"), 1) << output;
}

}  // namespace
}  // namespace visor::e2e
