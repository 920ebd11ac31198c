// The health endpoint: /healthz, /readyz and /metrics over HTTP/1.1 (Boost.Beast), on the
// daemon's io_context, without threads.
//
// Every connection has a deadline and a size cap, and the number of connections is bounded, so a
// slow, silent or garbage-sending client can neither stall the supervisor nor other clients.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "visor/common/clock.h"
#include "visor/common/live_status.h"
#include "visor/common/result.h"

namespace visor {

/// What one request is answered with; computed without any socket (the test seam).
struct HealthAnswer {
  unsigned status = 200;
  std::string content_type;
  std::string body;
  std::string allow;  ///< the Allow header of a 405, empty otherwise
};

/// Answers `method` `target` from `status`: `/healthz` 200 while the child is up and visor has
/// not exited, `/readyz` 200 when the child is up, no upgrade is in progress and the state is
/// running, `/metrics` the Prometheus text; 503 with a one-line JSON {state, reason} otherwise.
/// Only GET and HEAD are allowed (405 with Allow otherwise); unknown paths are 404.
HealthAnswer answer_health_request(std::string_view method, std::string_view target,
                                   const LiveStatus& status);

/// The limits every connection lives under.
struct HealthServerLimits {
  std::size_t max_request_bytes = 8 * 1024;  ///< request line and headers; bodies are refused
  Duration io_timeout{5000};                 ///< to receive a whole request, or to send a response
  std::size_t max_connections = 16;          ///< more are closed as soon as they are accepted
};

class HealthConnection;

/// The listener. Create with make_shared (handlers hold shared_from_this()).
class HealthServer : public std::enable_shared_from_this<HealthServer> {
 public:
  HealthServer(boost::asio::io_context& io, const LiveStatus& status,
               HealthServerLimits limits = {});
  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;

  /// Listens on `address` ("127.0.0.1:9187", "[::1]:9187", ":9187" for every interface, port 0
  /// for any free port) and starts accepting. Fails naming the address and the cause.
  Status listen(const std::string& address);
  /// The bound address (after listen()).
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  /// Closes the listener and every connection, so that io_context::run() can return.
  void stop();
  /// Connections currently open.
  std::size_t connection_count() const { return connections_.size(); }

  const LiveStatus& status() const { return status_; }
  const HealthServerLimits& limits() const { return limits_; }
  /// Called by a connection when it is destroyed.
  void forget(const HealthConnection* connection) { connections_.erase(connection); }

 private:
  void accept();
  void on_accept(const boost::system::error_code& error, boost::asio::ip::tcp::socket socket);

  const LiveStatus& status_;
  HealthServerLimits limits_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  std::map<const HealthConnection*, std::weak_ptr<HealthConnection>> connections_;
  bool stopped_ = false;
  bool accept_error_logged_ = false;
};

}  // namespace visor
