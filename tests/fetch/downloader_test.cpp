// download() against a real HTTP server (tests/e2e/support/release_server.py) on 127.0.0.1.
#include "visor/fetch/downloader.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <thread>

#include "release_server.h"
#include "visor/fetch/sha256.h"

namespace visor {
namespace {

using testing::ReleaseServer;
using testing::TempDir;

std::string sha256_of(const std::string& bytes) {
  Sha256 hash;
  hash.update(bytes.data(), bytes.size());
  return hash.hex_digest();
}

bool exists(const std::string& path) { return std::filesystem::exists(path); }

class DownloaderTest : public ::testing::Test {
 protected:
  static constexpr std::size_t kSize = 1 << 20;

  void SetUp() override {
    ASSERT_FALSE(temp_.path().empty());
    std::filesystem::create_directories(temp_ / "www/v1");
    std::filesystem::create_directories(temp_ / "home/tmp");
    content_ = testing::pseudo_random_bytes(kSize);
    testing::write_file(temp_ / "www/v1/lavap", content_);
  }

  /// Starts the server with `flags`; the test fails when it does not come up.
  void serve(const std::vector<std::string>& flags = {}) {
    std::string error;
    server_ = ReleaseServer::start(temp_ / "www", temp_ / "requests.log", flags, error);
    ASSERT_NE(server_, nullptr) << error;
  }

  /// A request for v1/lavap with small timeouts and fast retries.
  DownloadRequest request() const {
    DownloadRequest request;
    request.url = server_ ? server_->url("v1/lavap") : "http://127.0.0.1:1/v1/lavap";
    request.destination = destination();
    request.expected_sha256 = sha256_of(content_);
    request.allow_http = true;
    request.connect_timeout = Duration(2000);
    request.low_speed_window = Duration(1000);
    request.total_timeout = Duration(8000);
    request.attempts = 3;
    request.retry_initial = Duration(50);
    request.retry_max = Duration(200);
    return request;
  }

  std::string destination() const { return temp_ / "home/tmp/lavap"; }
  std::string part() const { return destination() + ".part"; }

  TempDir temp_;
  std::string content_;
  std::unique_ptr<ReleaseServer> server_;
};

TEST_F(DownloaderTest, DownloadsAndVerifies) {
  serve();
  const Result<DownloadResult> result = download(request());
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->path, destination());
  EXPECT_EQ(result->sha256, sha256_of(content_));
  EXPECT_EQ(result->size, kSize);
  EXPECT_FALSE(result->resumed);
  EXPECT_EQ(testing::read_file(destination()), content_);
  EXPECT_FALSE(exists(part()));
  ASSERT_EQ(server_->requests().size(), 1u);
  EXPECT_TRUE(server_->requests()[0]["range"].is_null());
}

TEST_F(DownloaderTest, UpperCaseExpectedHashIsAccepted) {
  serve();
  DownloadRequest upper = request();
  for (char& c : upper.expected_sha256) c = static_cast<char>(std::toupper(c));
  const Result<DownloadResult> result = download(upper);
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->sha256, sha256_of(content_));
}

TEST_F(DownloaderTest, ChecksumMismatchNamesBothHashesAndLeavesNothing) {
  serve();
  DownloadRequest wrong = request();
  wrong.expected_sha256 = sha256_of("something else");
  const Result<DownloadResult> result = download(wrong);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(), "checksum mismatch for " + wrong.url + ": expected " +
                                wrong.expected_sha256 + ", got " + sha256_of(content_));
  EXPECT_FALSE(exists(destination()));
  EXPECT_FALSE(exists(part()));
  EXPECT_EQ(server_->requests().size(), 1u);  // a mismatch is not retried
}

TEST_F(DownloaderTest, NoChecksumIsRefusedBeforeAnyRequest) {
  serve();
  DownloadRequest unverified = request();
  unverified.expected_sha256.clear();
  const Result<DownloadResult> result = download(unverified);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("refusing to download " + unverified.url), std::string::npos)
      << result.error();
  EXPECT_NE(result.error().find("no SHA-256"), std::string::npos) << result.error();
  EXPECT_TRUE(server_->requests().empty());
  EXPECT_FALSE(exists(part()));

  unverified.allow_unverified = true;
  const Result<DownloadResult> allowed = download(unverified);
  ASSERT_TRUE(allowed.ok()) << allowed.error();
  EXPECT_EQ(allowed->sha256, sha256_of(content_));
}

TEST_F(DownloaderTest, MalformedExpectedHashIsRefused) {
  serve();
  DownloadRequest bad = request();
  bad.expected_sha256 = "abc";
  const Result<DownloadResult> result = download(bad);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("is not 64 hex digits"), std::string::npos) << result.error();
  EXPECT_TRUE(server_->requests().empty());
}

TEST_F(DownloaderTest, PlainHttpIsRefusedUnlessAllowed) {
  serve();
  DownloadRequest http = request();
  http.allow_http = false;
  const Result<DownloadResult> result = download(http);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("plain http is not allowed"), std::string::npos) << result.error();
  EXPECT_TRUE(server_->requests().empty());
}

TEST_F(DownloaderTest, DroppedConnectionIsResumedWithRange) {
  serve({"--drop-after", "300000"});
  const Result<DownloadResult> result = download(request());
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_TRUE(result->resumed);
  EXPECT_EQ(result->sha256, sha256_of(content_));
  EXPECT_EQ(testing::read_file(destination()), content_);
  const auto requests = server_->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_TRUE(requests[0]["range"].is_null());
  EXPECT_EQ(requests[1]["range"], "bytes=300000-");
}

TEST_F(DownloaderTest, PartFromAnEarlierRunIsResumed) {
  serve();
  testing::write_file(part(), content_.substr(0, 400000));
  const Result<DownloadResult> result = download(request());
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_TRUE(result->resumed);
  EXPECT_EQ(testing::read_file(destination()), content_);
  const auto requests = server_->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0]["range"], "bytes=400000-");
}

TEST_F(DownloaderTest, StalePartIsReplacedByOneFreshDownload) {
  serve();
  testing::write_file(part(), std::string(400000, 'x'));  // bytes of some other artifact
  const Result<DownloadResult> result = download(request());
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_FALSE(result->resumed);
  EXPECT_EQ(testing::read_file(destination()), content_);
  const auto requests = server_->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0]["range"], "bytes=400000-");
  EXPECT_TRUE(requests[1]["range"].is_null());
}

TEST_F(DownloaderTest, CompletePartIsFinishedOn416) {
  serve();
  testing::write_file(part(), content_);  // an earlier run stopped just before the rename
  const Result<DownloadResult> result = download(request());
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(testing::read_file(destination()), content_);
  ASSERT_EQ(server_->requests().size(), 1u);
  EXPECT_EQ(server_->requests()[0]["range"], "bytes=1048576-");
}

TEST_F(DownloaderTest, HttpsVerifiesTheServerCertificate) {
  if (!testing::make_self_signed_certificate(temp_.path())) GTEST_SKIP() << "no openssl tool";
  serve({"--tls-cert", temp_ / "cert.pem", "--tls-key", temp_ / "key.pem"});
  DownloadRequest secure = request();
  secure.url = "https://127.0.0.1:" + std::to_string(server_->port()) + "/v1/lavap";
  secure.allow_http = false;

  const Result<DownloadResult> untrusted = download(secure);  // self-signed: not trusted
  ASSERT_FALSE(untrusted.ok());
  EXPECT_NE(untrusted.error().find("certificate"), std::string::npos) << untrusted.error();
  // The way out is named, and curl's "SSL" keeps its capitals.
  EXPECT_NE(untrusted.error().find("--ca-bundle"), std::string::npos) << untrusted.error();
  EXPECT_EQ(untrusted.error().find("sSL"), std::string::npos) << untrusted.error();
  EXPECT_FALSE(exists(part()));

  secure.ca_bundle = temp_ / "cert.pem";
  const Result<DownloadResult> trusted = download(secure);
  ASSERT_TRUE(trusted.ok()) << trusted.error();
  EXPECT_EQ(testing::read_file(destination()), content_);
}

TEST_F(DownloaderTest, NotFoundIsNotRetried) {
  serve();
  DownloadRequest missing = request();
  missing.url = server_->url("v1/nothing-here");
  missing.attempts = 5;
  const Result<DownloadResult> result = download(missing);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(), "downloading " + missing.url + " failed: HTTP 404");
  EXPECT_EQ(server_->requests().size(), 1u);
  EXPECT_FALSE(exists(destination() + ".part"));
}

TEST_F(DownloaderTest, ServerErrorsAreRetried) {
  serve({"--status", "503", "--status-times", "2"});
  const Result<DownloadResult> result = download(request());
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(server_->requests().size(), 3u);
}

TEST_F(DownloaderTest, RetriesAreCountedAndTheLastCauseReported) {
  serve({"--status", "502"});
  const Result<DownloadResult> result = download(request());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(),
            "downloading " + request().url + " failed: giving up after 3 attempts: HTTP 502");
  EXPECT_EQ(server_->requests().size(), 3u);
}

TEST_F(DownloaderTest, TruncatedRepliesResumeUntilAttemptsRunOut) {
  serve({"--truncate"});
  const Result<DownloadResult> result = download(request());
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("giving up after 3 attempts"), std::string::npos) << result.error();
  const auto requests = server_->requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1]["range"], "bytes=524288-");
  EXPECT_EQ(requests[2]["range"], "bytes=786432-");
  EXPECT_FALSE(exists(destination()));
  EXPECT_EQ(std::filesystem::file_size(part()), 917504u);  // kept for a later resume
}

TEST_F(DownloaderTest, AnnouncedSizeBeyondMaxIsRefused) {
  serve();
  DownloadRequest limited = request();
  limited.max_size = 512 * 1024;
  const Result<DownloadResult> result = download(limited);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(),
            "downloading " + limited.url + " failed: larger than the limit of 524288 bytes");
  EXPECT_EQ(server_->requests().size(), 1u);
  EXPECT_FALSE(exists(part()));
}

TEST_F(DownloaderTest, ActualSizeBeyondMaxIsRefusedWithoutContentLength) {
  serve({"--no-length"});
  DownloadRequest limited = request();
  limited.max_size = 512 * 1024;
  const Result<DownloadResult> result = download(limited);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(),
            "downloading " + limited.url + " failed: larger than the limit of 524288 bytes");
  EXPECT_FALSE(exists(part()));

  const Result<DownloadResult> unlimited = download(request());  // and without a limit it works
  ASSERT_TRUE(unlimited.ok()) << unlimited.error();
  EXPECT_EQ(unlimited->size, kSize);
}

TEST_F(DownloaderTest, StalledServerFailsWithinTheLowSpeedWindow) {
  serve({"--stall"});
  DownloadRequest stalled = request();
  stalled.attempts = 1;
  const auto started = std::chrono::steady_clock::now();
  const Result<DownloadResult> result = download(stalled);
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(),
            "downloading " + stalled.url + " failed: stalled: less than 1024 bytes/s for 1s");
  EXPECT_LT(took, std::chrono::seconds(4));
}

TEST_F(DownloaderTest, ConnectionRefusedIsRetriedThenReported) {
  DownloadRequest refused = request();  // no server: port 1 refuses
  const Result<DownloadResult> result = download(refused);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(), "downloading " + refused.url +
                                " failed: giving up after 3 attempts: connection refused");
}

TEST_F(DownloaderTest, ProgressIsThrottledAndCancelKeepsThePart) {
  serve({"--rate", "300000"});
  std::atomic<bool> cancel{false};
  std::vector<std::chrono::steady_clock::time_point> reports;
  DownloadProgress last;
  DownloadRequest slow = request();
  slow.cancel = &cancel;
  slow.on_progress = [&](const DownloadProgress& progress) {
    reports.push_back(std::chrono::steady_clock::now());
    last = progress;
    if (reports.size() == 2) cancel = true;
  };
  const Result<DownloadResult> result = download(slow);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(), "downloading " + slow.url + " failed: cancelled");
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_GE(reports[1] - reports[0], std::chrono::milliseconds(990));
  EXPECT_EQ(last.total, kSize);
  EXPECT_GT(last.bytes, 0u);
  EXPECT_GT(last.bytes_per_second, 50000.0);
  EXPECT_LT(last.bytes_per_second, 1000000.0);  // the server sends 300 kB/s
  EXPECT_TRUE(exists(part()));
  EXPECT_FALSE(exists(destination()));
}

TEST_F(DownloaderTest, ThrowingProgressCallbackBecomesAnError) {
  serve({"--rate", "500000"});
  DownloadRequest throwing = request();
  throwing.on_progress = [](const DownloadProgress&) { throw std::runtime_error("boom"); };
  const Result<DownloadResult> result = download(throwing);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(),
            "downloading " + throwing.url + " failed: progress callback failed: boom");
}

TEST_F(DownloaderTest, ConcurrentDownloadIntoTheSamePathIsRefused) {
  serve({"--rate", "1000000"});
  Result<DownloadResult> first_result = Result<DownloadResult>::failure("not run");
  std::thread runner([&] { first_result = download(request()); });
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::error_code no_file;
  while (std::chrono::steady_clock::now() < give_up) {  // until the first one has bytes on disk
    const std::uintmax_t size = std::filesystem::file_size(part(), no_file);
    if (!no_file && size > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const Result<DownloadResult> second = download(request());
  runner.join();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error(), "downloading " + request().url + " failed: " + part() +
                                " is being written by another download");
  ASSERT_TRUE(first_result.ok()) << first_result.error();
  EXPECT_EQ(testing::read_file(destination()), content_);
}

TEST_F(DownloaderTest, MissingDestinationFolderIsAClearError) {
  serve();
  DownloadRequest nowhere = request();
  nowhere.destination = temp_ / "no/such/dir/lavap";
  const Result<DownloadResult> result = download(nowhere);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(), "downloading " + nowhere.url + " failed: opening " +
                                nowhere.destination + ".part: No such file or directory");
}

// RLIMIT_FSIZE makes write() fail with EFBIG past the limit: a disk-full stand-in that needs
// no privileges.
TEST_F(DownloaderTest, WriteErrorIsReportedAndThePartRemoved) {
  serve();
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = saved;
  small.rlim_cur = 300000;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  const Result<DownloadResult> result = download(request());
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(),
            "downloading " + request().url + " failed: writing " + part() + ": File too large");
  EXPECT_FALSE(exists(part()));
  EXPECT_FALSE(exists(destination()));
  EXPECT_EQ(server_->requests().size(), 1u);
}

// A real ENOSPC from a 256 KiB tmpfs, mounted in a child process's own mount namespace.
// Skipped where namespaces or mounts are not permitted.
TEST_F(DownloaderTest, DiskFullIsReportedAndThePartRemoved) {
  serve();
  const std::string mount_point = temp_ / "home/tmp";
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(report[0]);
    std::string message;
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=256k") != 0) {
      message = "SKIP cannot mount a tmpfs here: " + std::string(std::strerror(errno));
    } else {
      const Result<DownloadResult> result = download(request());
      message = result.ok() ? "unexpected success" : result.error();
      message += exists(part()) ? " [part left]" : "";
    }
    (void)!::write(report[1], message.data(), message.size());
    ::_exit(0);
  }
  ::close(report[1]);
  std::string message;
  char buffer[512];
  for (ssize_t got; (got = ::read(report[0], buffer, sizeof buffer)) > 0;) {
    message.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(report[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (message.rfind("SKIP ", 0) == 0) GTEST_SKIP() << message.substr(5);
  EXPECT_EQ(message, "downloading " + request().url + " failed: writing " + part() +
                         ": No space left on device");
}

}  // namespace
}  // namespace visor
