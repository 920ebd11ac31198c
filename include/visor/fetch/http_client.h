// Small blocking HTTP requests (JSON-RPC, REST polls, checksum files) over TCP or a unix socket.
// Artifacts go through downloader.h instead: this client keeps the whole reply in memory.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "visor/common/clock.h"
#include "visor/common/result.h"

namespace visor {

/// One request. Only `url` is required.
struct HttpRequest {
  std::string url;             ///< http:// or https://; with `unix_socket` the host part is ignored
  std::string method = "GET";  ///< "GET", "POST", ...
  std::string body;            ///< sent as the request body when not empty
  std::vector<std::string> headers;  ///< whole header lines, e.g. "Content-Type: application/json"
  std::string
      unix_socket;  ///< non-empty: talk HTTP over this unix socket (CURLOPT_UNIX_SOCKET_PATH)
  Duration timeout{10000};         ///< whole-request deadline (also the connect timeout)
  std::size_t max_body = 1 << 20;  ///< a larger reply is an error; the transfer is aborted early
  bool allow_http = true;          ///< false: refuse non-https URLs before connecting
  std::string ca_bundle;           ///< optional CA file; TLS peer verification is always on
  /// When set and true, the request ends within about a second with a "cancelled" error (the
  /// owner is stopping and must not wait out `timeout`).
  std::shared_ptr<const std::atomic<bool>> cancel;
};

/// A completed exchange: any HTTP status counts as completed, callers judge the status.
struct HttpResponse {
  long status = 0;  ///< the HTTP status code, e.g. 200
  std::string body;
};

/// Performs `request` and waits for the whole reply. Blocking: call it off the main thread.
/// Thread-safe (one curl handle per call). Errors name the method and URL and say what failed,
/// e.g. "GET http://...: timed out after 10000ms", "...: reply larger than 1048576 bytes",
/// "...: connection refused". Request bodies and headers never appear in error messages.
Result<HttpResponse> http_request(const HttpRequest& request);

}  // namespace visor
