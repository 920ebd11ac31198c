#include "visor/ops/health_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>
#include <vector>

#include "visor/ops/metrics.h"

namespace visor {
namespace {

using namespace std::chrono_literals;

LiveStatus running() {
  LiveStatus status;
  status.state = LiveState::running;
  status.binary = "lavap";
  status.current_version = "5.2.1";
  status.child_pid = 99;
  status.child_up = true;
  return status;
}

TEST(HealthAnswers, HealthzFollowsTheChild) {
  LiveStatus status = running();
  HealthAnswer answer = answer_health_request("GET", "/healthz", status);
  EXPECT_EQ(answer.status, 200u);
  EXPECT_EQ(answer.content_type, "application/json");
  ASSERT_EQ(answer.body.back(), '\n');
  EXPECT_EQ(answer.body.find('\n'), answer.body.size() - 1);  // one line
  const auto json = nlohmann::json::parse(answer.body);
  EXPECT_EQ(json["state"], "running");
  EXPECT_FALSE(json["reason"].get<std::string>().empty());

  status.state = LiveState::backoff;
  status.child_up = false;
  status.last_error = "child ended with exit code 3";
  answer = answer_health_request("GET", "/healthz", status);
  EXPECT_EQ(answer.status, 503u);
  EXPECT_EQ(nlohmann::json::parse(answer.body)["state"], "backoff");
  EXPECT_EQ(nlohmann::json::parse(answer.body)["last_error"], "child ended with exit code 3");

  status = running();
  status.state = LiveState::exited;
  EXPECT_EQ(answer_health_request("GET", "/healthz", status).status, 503u);
  // An upgrade in progress is healthy, just not ready.
  status = running();
  status.upgrade_in_progress = true;
  EXPECT_EQ(answer_health_request("GET", "/healthz", status).status, 200u);
}

TEST(HealthAnswers, TheUpgradeStageIsShownUnlessIdle) {
  LiveStatus status = running();
  EXPECT_FALSE(nlohmann::json::parse(answer_health_request("GET", "/healthz", status).body)
                   .contains("upgrade_stage"));
  status.state = LiveState::held;
  status.child_up = false;
  status.upgrade_stage = LiveUpgradeStage::halted_waiting;
  const HealthAnswer held = answer_health_request("GET", "/healthz", status);
  EXPECT_EQ(held.status, 503u);
  EXPECT_EQ(nlohmann::json::parse(held.body)["upgrade_stage"], "halted_waiting") << held.body;
}

TEST(HealthAnswers, ReadyzNeedsARunningChildAndNoUpgrade) {
  LiveStatus status = running();
  EXPECT_EQ(answer_health_request("GET", "/readyz", status).status, 200u);
  status.upgrade_in_progress = true;
  const HealthAnswer upgrading = answer_health_request("GET", "/readyz", status);
  EXPECT_EQ(upgrading.status, 503u);
  EXPECT_NE(nlohmann::json::parse(upgrading.body)["reason"].get<std::string>().find("upgrade"),
            std::string::npos);
  status = running();
  status.state = LiveState::probation;
  EXPECT_EQ(answer_health_request("GET", "/readyz", status).status, 503u);
  status = running();
  status.child_up = false;
  EXPECT_EQ(answer_health_request("GET", "/readyz", status).status, 503u);
  // A download in the background (pre-staging) does not take the serving node out of a load
  // balancer: only the switch itself (upgrade_in_progress) does.
  status = running();
  status.upgrade_target = "5.3.0";
  status.download_percent = 40;
  EXPECT_EQ(answer_health_request("GET", "/readyz", status).status, 200u);
}

TEST(HealthAnswers, MetricsMethodsAndPaths) {
  const LiveStatus status = running();
  const HealthAnswer metrics = answer_health_request("GET", "/metrics?name[]=x", status);
  EXPECT_EQ(metrics.status, 200u);
  EXPECT_EQ(metrics.content_type, kMetricsContentType);
  EXPECT_EQ(metrics.body, render_metrics(status));
  EXPECT_EQ(answer_health_request("HEAD", "/healthz", status).status, 200u);
  const HealthAnswer post = answer_health_request("POST", "/healthz", status);
  EXPECT_EQ(post.status, 405u);
  EXPECT_EQ(post.allow, "GET, HEAD");
  EXPECT_EQ(answer_health_request("GET", "/", status).status, 404u);  // no index page
  EXPECT_EQ(answer_health_request("GET", "/nothing", status).status, 404u);
  EXPECT_EQ(answer_health_request("GET", "/healthz/../etc", status).status, 404u);
}

// The real listener on 127.0.0.1, its io_context on a thread of its own; the test is the client.
class HealthServerSockets : public ::testing::Test {
 protected:
  void start(HealthServerLimits limits) {
    server_ = std::make_shared<HealthServer>(io_, status_, limits);
    const Status listening = server_->listen("127.0.0.1:0");
    ASSERT_TRUE(listening.ok()) << listening.error();
    port_ = server_->local_endpoint().port();
    loop_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (!loop_.joinable()) return;
    boost::asio::post(io_, [this] { server_->stop(); });
    loop_.join();  // returns only if stop() left the io_context without work
  }

  int connect_client() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port_);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    return fd;
  }
  static void send_text(int fd, const std::string& text) {
    std::size_t sent = 0;
    while (sent < text.size()) {
      const ssize_t result = ::send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
      if (result <= 0) return;  // the server may close first; that is fine
      sent += static_cast<std::size_t>(result);
    }
  }
  // Reads until the server closes or `timeout` passes; `closed` tells which.
  static std::string read_all(int fd, std::chrono::milliseconds timeout, bool* closed = nullptr) {
    std::string text;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    if (closed) *closed = false;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return text;
      pollfd ready{fd, POLLIN, 0};
      if (::poll(&ready, 1, static_cast<int>(left.count())) <= 0) return text;
      char buffer[4096];
      const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
      if (got <= 0) {
        if (closed) *closed = true;
        return text;
      }
      text.append(buffer, static_cast<std::size_t>(got));
    }
  }
  std::string get(const std::string& target) {
    const int fd = connect_client();
    send_text(fd, "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    std::string response = read_all(fd, 5s);
    ::close(fd);
    return response;
  }

  boost::asio::io_context io_;
  LiveStatus status_ = running();
  std::shared_ptr<HealthServer> server_;
  unsigned short port_ = 0;
  std::thread loop_;
};

TEST_F(HealthServerSockets, AnswersGetAndHeadAndKeepsAliveConnections) {
  start({});
  const std::string response = get("/healthz");
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("\"state\":\"running\""), std::string::npos);

  const int fd = connect_client();
  send_text(fd,
            "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: "
            "x\r\nConnection: close\r\n\r\n");
  const std::string both = read_all(fd, 5s);
  ::close(fd);
  const auto second = both.find("HTTP/1.1 200 OK", 1);
  ASSERT_NE(second, std::string::npos) << both;
  const std::string head = both.substr(0, second);
  EXPECT_NE(head.find("Content-Length: " + std::to_string(render_metrics(status_).size())),
            std::string::npos);
  EXPECT_EQ(head.find("# HELP"), std::string::npos);  // HEAD has no body
  EXPECT_NE(both.find("\"reason\":\"ready\""), std::string::npos);
}

TEST_F(HealthServerSockets, ASilentClientIsClosedAtTheDeadlineWhileOthersAreServed) {
  start({8 * 1024, Duration(300), 16});
  const int silent = connect_client();
  EXPECT_EQ(get("/healthz").rfind("HTTP/1.1 200", 0), 0u);
  bool closed = false;
  const auto started = std::chrono::steady_clock::now();
  read_all(silent, 5s, &closed);
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  ::close(silent);
}

TEST_F(HealthServerSockets, OversizedGarbageAndBodiesAreClosedWithoutAnAnswer) {
  start({1024, Duration(2000), 16});
  for (const std::string& request :
       {"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n",
        std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 garbage\r\n\r\n", 23),
        std::string("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")}) {
    const int fd = connect_client();
    send_text(fd, request);
    bool closed = false;
    const std::string response = read_all(fd, 1500ms, &closed);
    EXPECT_TRUE(closed);
    EXPECT_EQ(response.find("200 OK"), std::string::npos) << response;
    ::close(fd);
  }
  EXPECT_EQ(get("/healthz").rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(HealthServerSockets, AtTheLimitTheOldestWaitingConnectionMakesRoomForANewOne) {
  start({8 * 1024, Duration(20000), 2});
  const int first = connect_client();
  std::this_thread::sleep_for(50ms);  // accepted in this order: `first` has waited longest
  const int second = connect_client();
  std::this_thread::sleep_for(50ms);
  // A third client is served at once although both slots hold silent clients (20 s deadline).
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(get("/healthz").rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  bool closed = false;
  read_all(first, 2s, &closed);
  EXPECT_TRUE(closed) << "the oldest idle connection was not the one evicted";
  ::close(first);
  ::close(second);
}

TEST_F(HealthServerSockets, ManyIdleAndTricklingClientsNeverStarveTheProbe) {
  start({8 * 1024, Duration(2000), 8});
  std::vector<int> idle;
  for (int index = 0; index < 60; ++index) idle.push_back(connect_client());
  std::vector<int> trickling;
  for (int index = 0; index < 4; ++index) {
    trickling.push_back(connect_client());
    send_text(trickling.back(), "G");
  }
  for (int probe = 0; probe < 10; ++probe) {
    for (const int fd : trickling) send_text(fd, "E");  // one more byte each, never a request
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(get("/healthz").rfind("HTTP/1.1 200", 0), 0u) << "probe " << probe;
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  }
  for (const int fd : idle) ::close(fd);
  for (const int fd : trickling) ::close(fd);
}

TEST_F(HealthServerSockets, StopClosesOpenConnectionsSoTheLoopEnds) {
  start({8 * 1024, Duration(60000), 16});
  const int idle = connect_client();
  std::this_thread::sleep_for(50ms);
  boost::asio::post(io_, [this] { server_->stop(); });
  bool closed = false;
  read_all(idle, 5s, &closed);
  EXPECT_TRUE(closed);
  loop_.join();  // with a 60 s deadline pending, only stop() can end the loop this early
  ::close(idle);
}

TEST(HealthServerListen, ReportsABadOrBusyAddress) {
  boost::asio::io_context io;
  LiveStatus status;
  auto server = std::make_shared<HealthServer>(io, status);
  EXPECT_NE(server->listen("nonsense").error().find("ADDR:PORT"), std::string::npos);
  EXPECT_NE(server->listen("example.com:80").error().find("not an IP address"), std::string::npos);
  ASSERT_TRUE(server->listen("127.0.0.1:0").ok());
  const auto port = server->local_endpoint().port();
  auto other = std::make_shared<HealthServer>(io, status);
  const Status busy = other->listen("127.0.0.1:" + std::to_string(port));
  ASSERT_FALSE(busy.ok());
  EXPECT_NE(busy.error().find("bind"), std::string::npos) << busy.error();
  server->stop();
}

TEST(HealthAnswers, ASetIsHealthyOnlyWhileEveryChildRuns) {
  LiveStatus status = running();
  status.children = {{"core", LiveState::running, 10, true, 0, 1, ""},
                     {"datanode", LiveState::running, 11, true, 0, 1, ""}};
  EXPECT_EQ(answer_health_request("GET", "/healthz", status).status, 200u);
  EXPECT_EQ(answer_health_request("GET", "/readyz", status).status, 200u);
  status.children[1].up = false;
  status.children[1].state = LiveState::backoff;
  const HealthAnswer down = answer_health_request("GET", "/healthz", status);
  EXPECT_EQ(down.status, 503u);
  EXPECT_EQ(nlohmann::json::parse(down.body)["reason"], "child datanode is not running");
  EXPECT_EQ(answer_health_request("GET", "/readyz", status).status, 503u);
  status.children[1].up = true;
  status.upgrade_in_progress = true;
  EXPECT_EQ(answer_health_request("GET", "/healthz", status).status, 200u);
  EXPECT_EQ(answer_health_request("GET", "/readyz", status).status, 503u);
}

}  // namespace
}  // namespace visor
