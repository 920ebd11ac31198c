// http_request() against a real HTTP server (tests/e2e/support/release_server.py).
#include "visor/fetch/http_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include "release_server.h"

namespace visor {
namespace {

using testing::ReleaseServer;
using testing::TempDir;

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(temp_.path().empty());
    std::filesystem::create_directories(temp_ / "www");
    testing::write_file(temp_ / "www/params.json", R"({"params":{}})");
    testing::write_file(temp_ / "www/big", std::string(3 << 20, 'z'));
  }

  void serve(const std::vector<std::string>& flags = {}) {
    std::string error;
    server_ = ReleaseServer::start(temp_ / "www", temp_ / "requests.log", flags, error);
    ASSERT_NE(server_, nullptr) << error;
  }

  TempDir temp_;
  std::unique_ptr<ReleaseServer> server_;
};

TEST_F(HttpClientTest, GetReturnsStatusAndBody) {
  serve();
  HttpRequest request;
  request.url = server_->url("params.json");
  const Result<HttpResponse> response = http_request(request);
  ASSERT_TRUE(response.ok()) << response.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"params":{}})");
}

TEST_F(HttpClientTest, ErrorStatusIsAResponseNotAFailure) {
  serve();
  HttpRequest request;
  request.url = server_->url("missing");
  const Result<HttpResponse> response = http_request(request);
  ASSERT_TRUE(response.ok()) << response.error();
  EXPECT_EQ(response->status, 404);
}

TEST_F(HttpClientTest, PostSendsBodyAndHeaders) {
  serve();
  HttpRequest request;
  request.url = server_->url("rpc");
  request.method = "POST";
  request.body = R"({"method":"protocolupgrade.UpgradeStatus","params":[null],"id":1})";
  request.headers = {"Content-Type: application/json"};
  const Result<HttpResponse> response = http_request(request);
  ASSERT_TRUE(response.ok()) << response.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, request.body);  // the server echoes POST bodies
}

TEST_F(HttpClientTest, TalksOverAUnixSocket) {
  const std::string socket = temp_ / "admin.sock";
  serve({"--unix", socket});
  HttpRequest request;
  request.url = "http://localhost/rpc";
  request.unix_socket = socket;
  request.method = "POST";
  request.body = "{}";
  const Result<HttpResponse> response = http_request(request);
  ASSERT_TRUE(response.ok()) << response.error();
  EXPECT_EQ(response->body, "{}");
}

TEST_F(HttpClientTest, MissingUnixSocketIsAClearError) {
  HttpRequest request;
  request.url = "http://localhost/rpc";
  request.unix_socket = temp_ / "nothing.sock";
  const Result<HttpResponse> response = http_request(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error(),
            "GET http://localhost/rpc: cannot connect: no such file or directory");
}

TEST_F(HttpClientTest, LargeReplyIsRefused) {
  serve();
  HttpRequest request;
  request.url = server_->url("big");
  const Result<HttpResponse> response = http_request(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error(), "GET " + request.url + ": reply larger than 1048576 bytes");
}

TEST_F(HttpClientTest, LargeReplyWithoutContentLengthIsCutOff) {
  serve({"--no-length"});
  HttpRequest request;
  request.url = server_->url("big");
  const Result<HttpResponse> response = http_request(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error(), "GET " + request.url + ": reply larger than 1048576 bytes");
}

TEST_F(HttpClientTest, HttpsVerifiesTheServerCertificate) {
  if (!testing::make_self_signed_certificate(temp_.path())) GTEST_SKIP() << "no openssl tool";
  serve({"--tls-cert", temp_ / "cert.pem", "--tls-key", temp_ / "key.pem"});
  HttpRequest request;
  request.url = "https://127.0.0.1:" + std::to_string(server_->port()) + "/params.json";
  request.allow_http = false;
  const Result<HttpResponse> untrusted = http_request(request);
  ASSERT_FALSE(untrusted.ok());
  EXPECT_NE(untrusted.error().find("certificate"), std::string::npos) << untrusted.error();

  request.ca_bundle = temp_ / "cert.pem";
  const Result<HttpResponse> trusted = http_request(request);
  ASSERT_TRUE(trusted.ok()) << trusted.error();
  EXPECT_EQ(trusted->body, R"({"params":{}})");
}

TEST_F(HttpClientTest, StalledServerTimesOut) {
  serve({"--stall"});
  HttpRequest request;
  request.url = server_->url("params.json");
  request.timeout = Duration(300);
  const auto started = std::chrono::steady_clock::now();
  const Result<HttpResponse> response = http_request(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error(), "GET " + request.url + ": timed out after 300ms");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
}

// The owner stops while the server says nothing: the request ends soon after the flag is
// set, long before its 60 s deadline, and says it was cancelled.
TEST_F(HttpClientTest, ACancelledRequestEndsWithoutWaitingForItsDeadline) {
  serve({"--stall"});
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  HttpRequest request;
  request.url = server_->url("params.json");
  request.timeout = Duration(60000);
  request.cancel = cancel;
  // Cancelled once the server has logged the request (it then never answers).
  std::thread stopper([cancel, log = temp_ / "requests.log"] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (testing::read_file(log).find("params.json") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    cancel->store(true);
  });
  const auto started = std::chrono::steady_clock::now();
  const Result<HttpResponse> response = http_request(request);
  const auto took = std::chrono::steady_clock::now() - started;
  stopper.join();
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error(), "GET " + request.url + ": cancelled");
  EXPECT_LT(took, std::chrono::seconds(20)) << "waited for the deadline";

  // Already cancelled: nothing is sent at all.
  const std::string before = testing::read_file(temp_ / "requests.log");
  const Result<HttpResponse> again = http_request(request);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error(), "GET " + request.url + ": cancelled");
  EXPECT_EQ(testing::read_file(temp_ / "requests.log"), before);
}

TEST_F(HttpClientTest, RefusedConnectionIsNamed) {
  HttpRequest request;
  request.url = "http://127.0.0.1:1/x";
  const Result<HttpResponse> response = http_request(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error(), "GET http://127.0.0.1:1/x: connection refused");
}

TEST_F(HttpClientTest, HttpsOnlyRefusesPlainHttpAndHidesCredentials) {
  HttpRequest request;
  request.url = "http://user:secret@127.0.0.1:1/x";
  request.allow_http = false;
  const Result<HttpResponse> response = http_request(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error(), "GET http://127.0.0.1:1/x: refused, only https URLs are allowed");
}

}  // namespace
}  // namespace visor
