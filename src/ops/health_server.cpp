#include "visor/ops/health_server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <vector>

#include "visor/common/log.h"
#include "visor/common/outside_text.h"
#include "visor/ops/metrics.h"

namespace visor {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using boost::asio::ip::tcp;

namespace {

constexpr const char* kJsonType = "application/json";
constexpr const char* kTextType = "text/plain; charset=utf-8";

HealthAnswer json_answer(unsigned code, const LiveStatus& status, const std::string& reason) {
  nlohmann::json body{{"state", to_string(status.state)}, {"reason", reason}};
  if (!status.current_version.empty()) body["version"] = status.current_version;
  if (status.child_pid > 0) body["child_pid"] = status.child_pid;
  if (!status.last_error.empty())
    body["last_error"] = outside_text(status.last_error, log::kMaxMessageBytes);
  if (status.upgrade_stage != LiveUpgradeStage::idle)
    body["upgrade_stage"] = to_string(status.upgrade_stage);
  return {code, kJsonType, dump_json(body) + "\n", ""};
}

// "the child is not running", or which child of a set is not.
std::string not_running(const LiveStatus& status) {
  const std::string down = first_child_down(status);
  return down.empty() ? "the child is not running" : "child " + down + " is not running";
}

HealthAnswer healthz(const LiveStatus& status) {
  if (status.state == LiveState::exited) return json_answer(503, status, "visor is exiting");
  if (status.state == LiveState::held) {
    return json_answer(
        503, status,
        std::string(status.children.size() > 1 ? "the children are" : "the child is") +
            " stopped for the upgrade" +
            (status.upgrade_target.empty() ? std::string() : " to " + status.upgrade_target));
  }
  if (!every_child_up(status)) return json_answer(503, status, not_running(status));
  return json_answer(
      200, status, status.children.size() > 1 ? "every child is running" : "the child is running");
}

HealthAnswer readyz(const LiveStatus& status) {
  if (!every_child_up(status)) return json_answer(503, status, not_running(status));
  if (status.upgrade_in_progress) return json_answer(503, status, "an upgrade is in progress");
  if (status.state != LiveState::running)
    return json_answer(503, status,
                       std::string("the child is in state ") + to_string(status.state));
  return json_answer(200, status, "ready");
}

// Sets FD_CLOEXEC: the children visor spawns must not inherit the health sockets (a child would
// otherwise keep the port open after visor is gone).
void set_close_on_exec(int fd) {
  const int flags = ::fcntl(fd, F_GETFD);
  if (flags < 0 || ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) != 0) {
    log::warn("health_socket", "fcntl(FD_CLOEXEC) on the health socket: " + errno_text(errno));
  }
}

Result<tcp::endpoint> parse_listen_address(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) {
    return Result<tcp::endpoint>::failure("expected ADDR:PORT, got '" + text + "'");
  }
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port_text) > 65535) {
    return Result<tcp::endpoint>::failure("expected a port number in '" + text + "'");
  }
  const auto port = static_cast<unsigned short>(std::stoul(port_text));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) return tcp::endpoint(boost::asio::ip::address_v4::any(), port);
  if (host == "localhost") return tcp::endpoint(boost::asio::ip::address_v4::loopback(), port);
  boost::system::error_code error;
  const auto address = boost::asio::ip::make_address(host, error);
  if (error) {
    return Result<tcp::endpoint>::failure("'" + host + "' in '" + text +
                                          "' is not an IP address (use e.g. 127.0.0.1 or [::1])");
  }
  return tcp::endpoint(address, port);
}

}  // namespace

HealthAnswer answer_health_request(std::string_view method, std::string_view target,
                                   const LiveStatus& status) {
  if (method != "GET" && method != "HEAD") {
    return {405, kTextType, "method not allowed: only GET and HEAD\n", "GET, HEAD"};
  }
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/healthz") return healthz(status);
  if (path == "/readyz") return readyz(status);
  if (path == "/metrics") return {200, kMetricsContentType, render_metrics(status), ""};
  return {404, kTextType, "not found; try /healthz, /readyz or /metrics\n", ""};
}

/// One client connection: read a request under the size cap and deadline, answer, repeat while
/// the client keeps the connection alive; close on any error.
class HealthConnection : public std::enable_shared_from_this<HealthConnection> {
 public:
  HealthConnection(tcp::socket socket, std::shared_ptr<HealthServer> server)
      : stream_(std::move(socket)),
        server_(std::move(server)),
        buffer_(server_->limits().max_request_bytes) {}
  ~HealthConnection() { server_->forget(this); }
  HealthConnection(const HealthConnection&) = delete;
  HealthConnection& operator=(const HealthConnection&) = delete;

  void start() { read_request(); }

  /// When the connection started waiting for its current request; nullopt while it answers.
  std::optional<SteadyClock::time_point> waiting_since() const { return waiting_since_; }

  void close() {
    waiting_since_.reset();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

 private:
  void read_request() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->limits().max_request_bytes));
    // One deadline for the whole request, however slowly its bytes trickle in.
    stream_.expires_after(server_->limits().io_timeout);
    waiting_since_ = SteadyClock::now();
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](const beast::error_code& error, std::size_t) {
                       self->on_read(error);
                     });
  }

  void on_read(const beast::error_code& error) {
    waiting_since_.reset();
    // Timeouts, oversized or malformed requests, bodies and hang-ups all end the connection;
    // operation_aborted means stop() closed it already.
    if (error) {
      if (error != boost::asio::error::operation_aborted) close();
      return;
    }
    const auto& request = parser_->get();
    const auto method = request.method_string();
    const auto target = request.target();
    const HealthAnswer answer =
        answer_health_request(std::string_view(method.data(), method.size()),
                              std::string_view(target.data(), target.size()), server_->status());
    response_ = {};
    response_.version(request.version());
    response_.result(answer.status);
    response_.set(http::field::server, "visor/" VISOR_VERSION);
    response_.set(http::field::content_type, answer.content_type);
    response_.set(http::field::cache_control, "no-store");
    if (!answer.allow.empty()) response_.set(http::field::allow, answer.allow);
    keep_alive_ = request.keep_alive() && answer.status != 405;
    response_.keep_alive(keep_alive_);
    if (request.method() == http::verb::head) {
      response_.content_length(answer.body.size());
    } else {
      response_.body() = answer.body;
      response_.prepare_payload();
    }
    stream_.expires_after(server_->limits().io_timeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this()](const beast::error_code& write_error,
                                                  std::size_t) { self->on_write(write_error); });
  }

  void on_write(const beast::error_code& error) {
    if (error == boost::asio::error::operation_aborted) return;
    if (error || !keep_alive_) {
      close();
      return;
    }
    read_request();
  }

  beast::tcp_stream stream_;
  std::shared_ptr<HealthServer> server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  http::response<http::string_body> response_;
  bool keep_alive_ = false;
  std::optional<SteadyClock::time_point> waiting_since_;
};

HealthServer::HealthServer(boost::asio::io_context& io, const LiveStatus& status,
                           HealthServerLimits limits)
    : status_(status), limits_(limits), acceptor_(io), retry_timer_(io) {}

Status HealthServer::listen(const std::string& address) {
  auto endpoint = parse_listen_address(address);
  if (!endpoint) return Status::failure("--health-listen: " + endpoint.error());
  const auto fail = [&](const std::string& call, const std::string& cause) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    return Status::failure("cannot listen on --health-listen " + address + ": " + call + ": " +
                           cause);
  };
  // Opened by hand to have SOCK_CLOEXEC from the start.
  const int fd = ::socket(endpoint->protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail("socket", errno_text(errno));
  boost::system::error_code error;
  acceptor_.assign(endpoint->protocol(), fd, error);
  if (error) {
    ::close(fd);
    return fail("assign", error.message());
  }
  acceptor_.set_option(tcp::acceptor::reuse_address(true), error);
  if (error) return fail("setsockopt(SO_REUSEADDR)", error.message());
  acceptor_.bind(*endpoint, error);
  if (error) return fail("bind", error.message());
  acceptor_.listen(boost::asio::socket_base::max_listen_connections, error);
  if (error) return fail("listen", error.message());
  stopped_ = false;
  log::info("health_listening", "serving /healthz, /readyz and /metrics",
            {{"address", local_endpoint().address().to_string() + ":" +
                             std::to_string(local_endpoint().port())}});
  accept();
  return {};
}

tcp::endpoint HealthServer::local_endpoint() const {
  boost::system::error_code error;
  return acceptor_.local_endpoint(error);
}

void HealthServer::accept() {
  acceptor_.async_accept(
      [self = shared_from_this()](const boost::system::error_code& error, tcp::socket socket) {
        self->on_accept(error, std::move(socket));
      });
}

void HealthServer::on_accept(const boost::system::error_code& error, tcp::socket socket) {
  if (error == boost::asio::error::operation_aborted || stopped_) return;
  if (error) {
    // E.g. EMFILE: log once, retry shortly instead of spinning on the same error.
    if (!accept_error_logged_) {
      log::warn("health_accept_failed", "accept on the health listener: " + error.message());
      accept_error_logged_ = true;
    }
    retry_timer_.expires_after(std::chrono::milliseconds(100));
    retry_timer_.async_wait(
        [self = shared_from_this()](const boost::system::error_code& timer_error) {
          if (!timer_error && !self->stopped_) self->accept();
        });
    return;
  }
  accept_error_logged_ = false;
  set_close_on_exec(socket.native_handle());
  if (connections_.size() >= limits_.max_connections && !evict_oldest_waiting()) {
    boost::system::error_code ignored;
    socket.close(ignored);  // every slot is busy answering: this one is closed at once
  } else {
    auto connection = std::make_shared<HealthConnection>(std::move(socket), shared_from_this());
    connections_.emplace(connection.get(), connection);
    connection->start();
  }
  accept();
}

bool HealthServer::evict_oldest_waiting() {
  std::shared_ptr<HealthConnection> oldest;
  for (const auto& [pointer, weak] : connections_) {
    auto connection = weak.lock();
    if (!connection || !connection->waiting_since()) continue;
    if (!oldest || *connection->waiting_since() < *oldest->waiting_since())
      oldest = std::move(connection);
  }
  if (!oldest) return false;
  // Forgotten now: its handler, which drops the last reference, runs only later.
  connections_.erase(oldest.get());
  oldest->close();
  if (evicted_++ == 0) {
    log::warn("health_connections_evicted",
              "the health server is at its limit of " + std::to_string(limits_.max_connections) +
                  " connections; the one waiting longest for its request is closed for each new "
                  "one (logged once)");
  }
  return true;
}

void HealthServer::stop() {
  stopped_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  retry_timer_.cancel();
  // Locked first: closing cancels their operations, and a connection forgets itself when destroyed.
  std::vector<std::shared_ptr<HealthConnection>> open;
  for (const auto& [pointer, weak] : connections_) {
    if (auto connection = weak.lock()) open.push_back(std::move(connection));
  }
  for (const auto& connection : open) connection->close();
}

}  // namespace visor
