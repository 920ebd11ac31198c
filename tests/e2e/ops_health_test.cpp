// End-to-end: the real build/visor's /healthz, /readyz and /metrics over real TCP on 127.0.0.1,
// with the real test child crashing and being restarted.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "../ops/prometheus_text_validator.h"
#include "e2e_util.h"

namespace visor::e2e {
namespace {

std::string errors_text(const std::vector<std::string>& errors) {
  std::string text;
  for (const auto& error : errors) text += error + "\n";
  return text;
}

class OpsHealth : public ::testing::Test {
 protected:
  std::unique_ptr<Process> start_visor(std::vector<std::string> extra = {}) {
    port_ = free_port();
    std::vector<std::string> argv{
        visor_binary(),    "wrap",
        "--home",          dir_ / "home",
        "--health-listen", "127.0.0.1:" + std::to_string(port_),
        "--cmd",           test_child_binary() + " --pid-file " + pid_file()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto visor = std::make_unique<Process>(argv, dir_ / "visor.log");
    return visor;
  }
  std::string pid_file() const { return dir_ / "pids"; }
  bool healthz_is(int status) { return http_get(port_, "/healthz").status == status; }

  TempDir dir_;
  int port_ = 0;
};

TEST_F(OpsHealth, HealthFollowsTheChildThroughACrashAndTheRestart) {
  auto visor = start_visor({"--backoff-initial", "2s"});
  ASSERT_TRUE(wait_until([&] { return healthz_is(200); }, 10s)) << visor->output();
  const HttpReply ready = http_get(port_, "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_NE(http_get(port_, "/healthz").body.find("\"state\":\"running\""), std::string::npos);
  ASSERT_TRUE(wait_until([&] { return read_lines(pid_file()).size() == 1; }, 5s));
  const pid_t first = std::stoi(read_lines(pid_file())[0]);

  ASSERT_EQ(::kill(first, SIGKILL), 0);
  ASSERT_TRUE(wait_until([&] { return healthz_is(503); }, 5s)) << visor->output();
  const HttpReply during_backoff = http_get(port_, "/healthz");
  EXPECT_EQ(during_backoff.status, 503);
  EXPECT_NE(during_backoff.body.find("\"state\":\"backoff\""), std::string::npos)
      << during_backoff.body;
  EXPECT_EQ(during_backoff.body.find('\n'), during_backoff.body.size() - 1);  // one line of JSON
  EXPECT_EQ(http_get(port_, "/readyz").status, 503);

  ASSERT_TRUE(
      wait_until([&] { return read_lines(pid_file()).size() == 2 && healthz_is(200); }, 10s))
      << visor->output();
  EXPECT_EQ(http_get(port_, "/readyz").status, 200);
  const auto metrics = testing::validate_prometheus_text(http_get(port_, "/metrics").body);
  EXPECT_EQ(metrics.value("visor_child_up"), 1);
  EXPECT_EQ(metrics.value("visor_child_restarts_total"), 1);

  visor->signal(SIGTERM);
  EXPECT_EQ(visor->wait(10s), 128 + SIGTERM);
  EXPECT_EQ(http_get(port_, "/healthz").status, 0);  // the listener is gone with visor
}

TEST_F(OpsHealth, MetricsPassTheValidatorAndPromtool) {
  auto visor = start_visor();
  ASSERT_TRUE(wait_until([&] { return healthz_is(200); }, 10s)) << visor->output();
  const HttpReply reply = http_get(port_, "/metrics");
  ASSERT_EQ(reply.status, 200);
  const auto parsed = testing::validate_prometheus_text(reply.body);
  EXPECT_TRUE(parsed.errors.empty()) << errors_text(parsed.errors) << reply.body;
  for (const char* family :
       {"visor_child_up", "visor_child_restarts_total", "visor_upgrades_total",
        "visor_version_info", "visor_source_errors_total", "visor_source_polls_total",
        "visor_source_poll_latency_seconds", "visor_last_successful_poll_timestamp_seconds",
        "visor_download_bytes_total", "visor_orphans_reaped_total", "visor_start_time_seconds"}) {
    EXPECT_TRUE(parsed.types.count(family)) << family;
  }
  for (const char* result : {"success", "failed", "rolled_back"}) {
    EXPECT_TRUE(parsed.value("visor_upgrades_total", {{"result", result}})) << result;
  }
  EXPECT_GT(*parsed.value("visor_start_time_seconds"), 1.6e9);

  // Debian's prometheus package provides promtool; it is part of the ops test dependencies.
  ASSERT_EQ(::access("/usr/bin/promtool", X_OK), 0)
      << "promtool is missing: install Debian's prometheus package (scripts/install-deps.sh --ops)";
  const std::string metrics_file = dir_ / "metrics.txt";
  write_file(metrics_file, reply.body);
  const CommandResult promtool =
      run_command("/usr/bin/promtool check metrics < '" + metrics_file + "'");
  EXPECT_EQ(promtool.status, 0) << promtool.output;
  EXPECT_EQ(promtool.output, "") << "promtool has remarks:\n" << promtool.output;

  visor->signal(SIGTERM);
  EXPECT_EQ(visor->wait(10s), 128 + SIGTERM);
}

TEST_F(OpsHealth, ASilentClientDoesNotStopAnswersToOthers) {
  auto visor = start_visor();
  ASSERT_TRUE(wait_until([&] { return healthz_is(200); }, 10s)) << visor->output();
  const int silent = connect_to(port_);
  ASSERT_GE(silent, 0);
  const auto started = std::chrono::steady_clock::now();
  for (int request = 0; request < 20; ++request) {
    ASSERT_EQ(http_get(port_, "/healthz", 1s).status, 200) << "request " << request;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  // visor closes the silent connection at its read deadline (3 s).
  bool closed = false;
  read_until_closed(silent, 9s, &closed);
  EXPECT_TRUE(closed);
  ::close(silent);
  EXPECT_EQ(http_get(port_, "/healthz").status, 200);
  visor->signal(SIGTERM);
  EXPECT_EQ(visor->wait(10s), 128 + SIGTERM);
}

TEST_F(OpsHealth, GarbageAndOversizedRequestsAreClosedWithoutHarm) {
  auto visor = start_visor();
  ASSERT_TRUE(wait_until([&] { return healthz_is(200); }, 10s)) << visor->output();
  ASSERT_TRUE(wait_until([&] { return read_lines(pid_file()).size() == 1; }, 5s));

  std::vector<std::string> requests;
  for (int index = 0; index < 10; ++index) {
    // Headers far beyond the 8 KiB cap.
    requests.push_back("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " +
                       std::string(16 * 1024 + index * 1000, 'a') + "\r\n\r\n");
  }
  for (int index = 0; index < 10; ++index) {
    std::string garbage = "\x16\x03\x01 not http at all ";
    for (int byte = 0; byte < 64; ++byte)
      garbage += static_cast<char>((byte * 37 + index * 11) & 0xff);
    requests.push_back(garbage + "\r\n\r\n");
  }
  // All twenty at once: at the connection limit the longest-waiting one makes room for the next.
  std::vector<int> clients;
  for (const auto& request : requests) {
    const int fd = connect_to(port_);
    ASSERT_GE(fd, 0);
    send_all(fd, request);
    clients.push_back(fd);
  }
  for (std::size_t index = 0; index < clients.size(); ++index) {
    bool closed = false;
    const std::string answer = read_until_closed(clients[index], 8s, &closed);
    EXPECT_TRUE(closed) << "client " << index << " was left open";
    EXPECT_EQ(answer.find(" 200 "), std::string::npos) << "client " << index << ": " << answer;
    ::close(clients[index]);
  }

  EXPECT_TRUE(wait_until([&] { return healthz_is(200); }, 5s));
  EXPECT_TRUE(visor->running());
  EXPECT_EQ(read_lines(pid_file()).size(), 1u);  // the child was never disturbed
  const auto parsed = testing::validate_prometheus_text(http_get(port_, "/metrics").body);
  EXPECT_TRUE(parsed.errors.empty()) << errors_text(parsed.errors);
  visor->signal(SIGTERM);
  EXPECT_EQ(visor->wait(10s), 128 + SIGTERM);
}

// Many idle clients and a few that trickle one byte per second hold connections; the liveness
// probe must still be answered within its deadline every time, and the child is not disturbed.
TEST_F(OpsHealth, IdleAndTricklingClientsNeverStarveTheLivenessProbe) {
  auto visor = start_visor();
  ASSERT_TRUE(wait_until([&] { return healthz_is(200); }, 10s)) << visor->output();
  ASSERT_TRUE(wait_until([&] { return read_lines(pid_file()).size() == 1; }, 5s));
  std::vector<int> idle;
  for (int index = 0; index < 60; ++index) {
    const int fd = connect_to(port_);
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
  }
  std::vector<int> trickling;
  for (int index = 0; index < 5; ++index) {
    const int fd = connect_to(port_);
    ASSERT_GE(fd, 0);
    send_all(fd, "G");
    trickling.push_back(fd);
  }
  // Six seconds of probes, one every 200 ms, while the tricklers send a byte a second.
  int answered = 0;
  int probes = 0;
  const auto started = std::chrono::steady_clock::now();
  auto last_trickle = started;
  while (std::chrono::steady_clock::now() - started < 6s) {
    if (std::chrono::steady_clock::now() - last_trickle >= 1s) {
      for (const int fd : trickling) send_all(fd, "E");
      last_trickle = std::chrono::steady_clock::now();
    }
    ++probes;
    if (http_get(port_, "/healthz", 1s).status == 200) ++answered;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(answered, probes) << visor->output();
  EXPECT_TRUE(visor->running());
  EXPECT_EQ(read_lines(pid_file()).size(), 1u);  // the child was never disturbed
  for (const int fd : idle) ::close(fd);
  for (const int fd : trickling) ::close(fd);
  visor->signal(SIGTERM);
  EXPECT_EQ(visor->wait(10s), 128 + SIGTERM);
}

TEST_F(OpsHealth, ABusyPortIsAStartUpError) {
  const int port = free_port();
  const int holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(holder, 1), 0);
  Process visor({visor_binary(), "wrap", "--home", dir_ / "home", "--health-listen",
                 "127.0.0.1:" + std::to_string(port), "--cmd",
                 test_child_binary() + " --pid-file " + pid_file()},
                dir_ / "visor.log");
  EXPECT_EQ(visor.wait(10s), 1);
  EXPECT_NE(visor.output().find("--health-listen"), std::string::npos) << visor.output();
  EXPECT_TRUE(read_file(pid_file()).empty());  // nothing was started
  ::close(holder);
}

}  // namespace
}  // namespace visor::e2e
