// End-to-end: hostile replies, files and pipes against the real build/visor. Each test drives a
// real server, file or pipe the way an attacker (or a broken node) would, and asserts what the
// contract promises: visor stays up, the child keeps running (same pid, no restart), and every
// line visor writes is one bounded line of valid UTF-8.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <sstream>
#include <thread>

#include "e2e_util.h"

namespace visor::e2e {
namespace {

namespace fs = std::filesystem;

// The longest line visor may write (its own cap is 2 KiB of message plus a few fields).
constexpr std::size_t kMaxLine = 8192;

// Well-formed UTF-8 by a decoder of the test's own: lead byte gives the length, continuation
// bytes are 10xxxxxx, no overlong form, no surrogate, nothing above U+10FFFF.
bool valid_utf8(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const int length = lead < 0x80           ? 1
                       : (lead >> 5) == 0x06 ? 2
                       : (lead >> 4) == 0x0E ? 3
                       : (lead >> 3) == 0x1E ? 4
                                             : 0;
    if (length == 0 || i + static_cast<std::size_t>(length) > text.size()) return false;
    unsigned point = length == 1 ? lead : lead & (0x7F >> length);
    for (int k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
      if ((next & 0xC0) != 0x80) return false;
      point = (point << 6) | (next & 0x3F);
    }
    const unsigned minimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (point < minimum[length] || point > 0x10FFFF || (point >= 0xD800 && point <= 0xDFFF))
      return false;
    i += static_cast<std::size_t>(length);
  }
  return true;
}

// Every line visor wrote is valid UTF-8 and bounded; the first offender otherwise.
std::string bad_line(const std::string& output) {
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (!valid_utf8(line)) return "not UTF-8: " + line.substr(0, 200);
    if (line.size() > kMaxLine) return "too long (" + std::to_string(line.size()) + " bytes)";
  }
  return {};
}

std::string lava_reply(const std::string& target_json) {
  return R"({"params":{"version":{"provider_target":)" + target_json +
         R"(,"provider_min":"5.0.0","consumer_target":"5.2.1","consumer_min":"5.0.0"}}})";
}

std::string nested(std::size_t depth, const std::string& inner = "1") {
  return std::string(depth, '[') + inner + std::string(depth, ']');
}

class HostileInput : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directories(dir_ / "bin"); }
  std::map<std::string, std::string> environment() const {
    const char* path = std::getenv("PATH");
    return {{"PATH", (dir_ / "bin") + ":" + (path ? path : "/usr/bin:/bin")}};
  }
  std::vector<std::string> pids() const { return read_lines(dir_ / "pids"); }
  bool running(const std::string& version) const {
    return argv_file_says_running(dir_ / "argv", version);
  }
  std::string child_flags() const {
    return " --argv-file " + (dir_ / "argv") + " --pid-file " + (dir_ / "pids");
  }
  std::string home() const { return dir_ / "home"; }
  int requests() const { return static_cast<int>(read_lines(dir_ / "requests.log").size()); }
  std::string info_file() const { return dir_ / "chain/data/upgrade-info.json"; }
  using CosmosCase = std::pair<std::function<void()>, std::string>;
  void cosmos_cases(const std::vector<CosmosCase>& cases);

  // Serves each reply in turn (rewriting the file the server reads) and waits until visor has
  // asked at least twice for it (it retried) and has said `expected` in a line after it.
  void serve_each(Process& visor, const std::vector<std::pair<std::string, std::string>>& replies) {
    for (const auto& [reply, expected] : replies) {
      const size_t log_before = visor.output().size();
      replace_file(dir_ / "reply", reply);
      const int asked_before = requests();
      ASSERT_TRUE(wait_until(
          [&] {
            return visor.output().find(expected, log_before) != std::string::npos &&
                   requests() >= asked_before + 2;
          },
          15s))
          << "expected a line with '" << expected << "' and a retry\n"
          << visor.output().substr(log_before);
      ASSERT_TRUE(visor.running()) << visor.output().substr(log_before);
      EXPECT_EQ(pids().size(), 1u);
      EXPECT_EQ(bad_line(visor.output()), "");
      const auto status = nlohmann::json::parse(read_file(home() + "/status.json"));
      EXPECT_EQ(status.value("child_restarts_total", -1), 0);
      EXPECT_TRUE(valid_utf8(read_file(home() + "/status.json")));
    }
  }

  TempDir dir_;
};

// Findings 1, 11 and 12: invalid UTF-8 and garbage from a Lava endpoint once aborted visor in
// status.json's dump(); now each is one bounded line and a retry.
TEST_F(HostileInput, LavaGarbageAndInvalidUtf8AreOneBoundedLineAndARetry) {
  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  replace_file(dir_ / "reply", lava_reply(R"("5.2.1")"));
  Server lava =
      start_server("hostile_server.py", {"--reply", dir_ / "reply", "--log", dir_ / "requests.log"},
                   dir_ / "server.out");
  Process visor({visor_binary(), "wrap", "--home", home(), "--source", "lava", "--lava-rest",
                 lava.url(), "--poll-interval", "100ms", "--request-timeout", "1s", "--cmd",
                 "lavap rpcprovider" + child_flags()},
                dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("5.2.1"); }, 15s)) << visor.output();
  serve_each(visor, {
                        {"<html>\xff\xfe gateway \x1b[31m error</html>", "not JSON"},
                        {"STATUS 502\n<html>\xc3\x28 bad gateway\n\n</html>", "HTTP 502"},
                        {lava_reply("\"5.3.0\xe9\""), "not JSON"},  // Latin-1 in a string
                        {lava_reply("\"v\xe9rsion\""), "not JSON"},
                        {lava_reply("\"" + std::string(100000, 'x') + "\""), "is not a version"},
                        {lava_reply("[1,2,3]"), "is not a string"},
                        {std::string(4000, '\x80'), "not JSON"},
                        {"TRUNCATE\n" + lava_reply(R"("5.2.1")"), "lava"},
                        {"CLOSE\n", "lava"},
                    });
  const auto status = nlohmann::json::parse(read_file(home() + "/status.json"));
  EXPECT_FALSE(status.value("last_error", "").empty());
  EXPECT_TRUE(running("5.2.1"));
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

// Finding 2: a reply nested 150,000 deep once overflowed the stack in dump() of an error
// message; now it is refused by depth at parse time.
TEST_F(HostileInput, DeeplyNestedLavaRepliesAreRefusedByDepth) {
  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  replace_file(dir_ / "reply", lava_reply(R"("5.2.1")"));
  Server lava =
      start_server("hostile_server.py", {"--reply", dir_ / "reply", "--log", dir_ / "requests.log"},
                   dir_ / "server.out");
  Process visor({visor_binary(), "wrap", "--home", home(), "--source", "lava", "--lava-rest",
                 lava.url(), "--poll-interval", "100ms", "--request-timeout", "2s", "--cmd",
                 "lavap rpcprovider" + child_flags()},
                dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("5.2.1"); }, 15s)) << visor.output();
  serve_each(visor, {
                        {lava_reply(nested(150000)), "nested deeper than 64 levels"},
                        {nested(150000), "nested deeper than 64 levels"},
                        {lava_reply(nested(150000, "")), "nested deeper than 64 levels"},
                    });
  EXPECT_TRUE(running("5.2.1"));
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

// Findings 2, 11 and 12 over the Vega admin socket: a deep `id` or `error`, invalid UTF-8 and
// garbage, each one line and a retry.
TEST_F(HostileInput, VegaRepliesWithDeepIdsErrorsAndBadBytesAreOneLineAndARetry) {
  write_stand_in(dir_ / "bin/vega", "0.79.0");
  const std::string socket = dir_ / "vega.sock";
  replace_file(dir_ / "reply", "{}");
  Process node(
      {"/usr/bin/python3", std::string(VISOR_SOURCE_DIR) + "/tests/e2e/support/hostile_server.py",
       "--reply", dir_ / "reply", "--socket", socket, "--log", dir_ / "requests.log"},
      dir_ / "vega-server.out");
  ASSERT_TRUE(wait_until([&] { return fs::exists(socket); }, 10s));
  Process visor({visor_binary(), "wrap", "--home", home(), "--source", "vega",
                 "--vega-admin-socket", socket, "--poll-interval", "100ms", "--request-timeout",
                 "2s", "--cmd", "vega start" + child_flags()},
                dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("0.79.0"); }, 15s)) << visor.output();
  serve_each(
      visor,
      {
          {R"({"result":null,"error":null,"id":)" + nested(150000) + "}", "nested deeper"},
          {R"({"result":null,"id":@ID@,"error":)" + nested(150000, "{}") + "}", "nested deeper"},
          {"{\"result\":null,\"id\":@ID@,\"error\":{\"code\":-1,\"message\":\"bad \xff\xfe\"}}",
           "not JSON"},
          {R"({"result":null,"id":@ID@,"error":{"code":-1,"message":"a\nfake line\u202e"}})",
           "a\\nfake line\\u202e"},
          {R"({"result":null,"id":@ID@,"error":")" + std::string(50000, 'e') + "\\u0000\"}",
           "JSON-RPC error"},
          {R"({"result":null,"id":[1,2],"error":null})", "an array of 2 elements"},
          {"\xde\xad\xbe\xef garbage", "not JSON"},
      });
  EXPECT_TRUE(running("0.79.0"));
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

// Writes each hostile upgrade-info.json in turn under a running cosmos visor and waits for the
// one line it must cause; the child stays the same process throughout.
void HostileInput::cosmos_cases(const std::vector<CosmosCase>& cases) {
  write_stand_in(dir_ / "bin/simd", "1.0.0");
  fs::create_directories(dir_ / "chain/data");
  Process visor({visor_binary(), "wrap", "--home", home(), "--profile", "cosmos", "--upgrade-info",
                 info_file(), "--poll-interval", "100ms", "--cmd", "simd start" + child_flags()},
                dir_ / "visor.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("1.0.0"); }, 15s)) << visor.output();
  for (const auto& [write, expected] : cases) {
    const size_t log_before = visor.output().size();
    write();
    ASSERT_TRUE(wait_until(
        [&] { return visor.output().find(expected, log_before) != std::string::npos; }, 15s))
        << "expected '" << expected << "'\n"
        << visor.output().substr(log_before);
    ASSERT_TRUE(visor.running());
    EXPECT_EQ(pids().size(), 1u);
    EXPECT_EQ(bad_line(visor.output()), "");
  }
  EXPECT_TRUE(running("1.0.0"));
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

// Finding 2 for Cosmos: a deep `height`, and a valid plan whose `info` is nested deep (its
// dump() once overflowed the stack), are refused by depth.
TEST_F(HostileInput, DeeplyNestedUpgradeInfoFilesAreOneLineEach) {
  const std::string info = info_file();
  cosmos_cases({
      {[&] { replace_file(info, R"({"name":"v2.0.0","height":)" + nested(150000) + "}"); },
       "nested deeper"},
      {[&] {
         replace_file(info,
                      R"({"name":"v2.0.0","height":100,"info":{"a":)" + nested(150000) + "}}");
       },
       "nested deeper"},
  });
}

// Findings 1 and 7 for Cosmos: invalid UTF-8, and a FIFO, a directory or a device in place of
// upgrade-info.json, never hang or kill visor.
TEST_F(HostileInput, SpecialAndInvalidUpgradeInfoFilesAreOneLineEach) {
  const std::string info = info_file();
  cosmos_cases({
      {[&] { replace_file(info, "{\"name\":\"v2\xff\",\"height\":1}"); }, "not JSON"},
      {[&] {
         fs::remove(info);
         ASSERT_EQ(::mkfifo(info.c_str(), 0644), 0);
       },
       "not a regular file (a FIFO)"},
      {[&] {
         fs::remove(info);
         fs::create_directory(info);
       },
       "not a regular file (a directory)"},
      {[&] {
         fs::remove(info);
         fs::create_symlink("/dev/zero", info);
       },
       "not a regular file (a character device)"},
  });
}

// Finding 7: state.json (or config.json) as a FIFO once hung `visor wrap` forever in open().
TEST_F(HostileInput, SpecialFilesInTheHomeAreAnErrorNeverAHang) {
  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  fs::create_directories(home());
  ASSERT_EQ(::mkfifo((home() + "/state.json").c_str(), 0644), 0);
  Process wrap({visor_binary(), "wrap", "--home", home(), "--cmd", "lavap" + child_flags()},
               dir_ / "wrap.log", environment());
  const auto code = wrap.wait(10s);
  ASSERT_TRUE(code.has_value()) << "visor wrap hangs on a FIFO state.json";
  EXPECT_NE(*code, 0);
  EXPECT_NE(wrap.output().find("not a regular file (a FIFO)"), std::string::npos) << wrap.output();
  EXPECT_FALSE(fs::exists(dir_ / "pids"));  // nothing was started from a home it cannot read

  const auto status = run_command("timeout 10 " + visor_binary() + " status --home " + home());
  EXPECT_EQ(status.status, 1) << status.output;
  EXPECT_NE(status.output.find("not a regular file (a FIFO)"), std::string::npos) << status.output;

  fs::remove(home() + "/state.json");
  fs::create_directory(home() + "/state.json");
  const auto directory = run_command("timeout 10 " + visor_binary() + " status --home " + home());
  EXPECT_EQ(directory.status, 1) << directory.output;
  EXPECT_NE(directory.output.find("(a directory)"), std::string::npos) << directory.output;
  fs::remove(home() + "/state.json");

  // The lock file: `status` asks who holds it, `wrap` takes it; neither may hang on a FIFO.
  ASSERT_EQ(::mkfifo((home() + "/visor.lock").c_str(), 0644), 0);
  const auto locked = run_command("timeout 10 " + visor_binary() + " status --home " + home());
  EXPECT_EQ(locked.status, 0) << locked.output;
  const auto wrapped = run_command("timeout 10 " + visor_binary() + " wrap --home " + home() +
                                   " --cmd " + test_child_binary());
  EXPECT_EQ(wrapped.status, 1) << wrapped.output;
  EXPECT_NE(wrapped.output.find("visor.lock is not a regular file (a FIFO)"), std::string::npos)
      << wrapped.output;
  fs::remove(home() + "/visor.lock");

  ASSERT_EQ(::mkfifo((home() + "/config.json").c_str(), 0644), 0);
  const auto check = run_command("timeout 10 " + visor_binary() + " check --home " + home() +
                                 " --cmd " + test_child_binary());
  EXPECT_EQ(check.status, 2) << check.output;
  EXPECT_NE(check.output.find("not a regular file (a FIFO)"), std::string::npos) << check.output;
}

// Finding 8: with stdout and stderr a pipe whose reader is gone, the first log line once killed
// visor by SIGPIPE before the child started.
TEST_F(HostileInput, AClosedLogPipeDoesNotKillVisor) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  ::close(pipe_fds[0]);  // the reader (`| logger`) is gone
  const std::string pid_file = dir_ / "pids";
  const pid_t visor = ::fork();
  ASSERT_GE(visor, 0);
  if (visor == 0) {
    ::dup2(pipe_fds[1], 1);
    ::dup2(pipe_fds[1], 2);
    ::signal(SIGPIPE, SIG_DFL);  // as a shell pipeline would start it
    const std::string home_dir = home();
    const std::string command = test_child_binary() + " --pid-file " + pid_file;
    ::execl(visor_binary().c_str(), "visor", "wrap", "--home", home_dir.c_str(), "--cmd",
            command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  int raw = 0;
  const bool child_started = wait_until(
      [&] {
        if (::waitpid(visor, &raw, WNOHANG) == visor) return true;  // visor ended: fail below
        return pids().size() == 1;
      },
      15s);
  ASSERT_TRUE(child_started);
  ASSERT_EQ(::waitpid(visor, &raw, WNOHANG), 0)
      << "visor ended: " << (WIFSIGNALED(raw) ? "signal " + std::to_string(WTERMSIG(raw)) : "exit");
  ::kill(visor, SIGTERM);
  ASSERT_TRUE(wait_until([&] { return ::waitpid(visor, &raw, WNOHANG) == visor; }, 15s));
  ASSERT_TRUE(WIFEXITED(raw)) << "signal " << WTERMSIG(raw);
  EXPECT_EQ(WEXITSTATUS(raw), 128 + SIGTERM);
}

// Finding 10: a file name the store cannot even check (a version 300 characters long) once
// threw std::filesystem::filesystem_error out of fs::exists and aborted visor; now it is one
// error line and a failed command.
TEST_F(HostileInput, AVersionTooLongForAFileNameIsOneErrorLine) {
  const std::string version = "1.0.0-" + std::string(300, 'a');
  write_stand_in(dir_ / "bin/lavap", version);
  const auto added = run_command(visor_binary() + " add-upgrade " + version + " " +
                                 (dir_ / "bin/lavap") + " --home " + home());
  EXPECT_EQ(added.status, 1) << added.output;
  EXPECT_NE(added.output.find("File name too long"), std::string::npos) << added.output;
  EXPECT_EQ(added.output.find("terminate called"), std::string::npos) << added.output;
  EXPECT_EQ(bad_line(added.output), "");
}

}  // namespace
}  // namespace visor::e2e
