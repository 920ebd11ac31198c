#include "visor/fetch/http_client.h"

#include <curl/curl.h>

#include <string>

#include "curl_easy.h"

namespace visor {
namespace {

struct BodySink {
  std::string* body;
  std::size_t max_body;
  bool too_large = false;
};

// Returning less than `size * count` makes curl abort the transfer with CURLE_WRITE_ERROR,
// so an endless reply costs at most max_body bytes of memory.
std::size_t append_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  const std::size_t bytes = size * count;
  if (sink->body->size() + bytes > sink->max_body) {
    sink->too_large = true;
    return 0;
  }
  sink->body->append(data, bytes);
  return bytes;
}

// Called by curl at least once a second, also while connecting or waiting for a reply.
int check_cancel(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(user)->load() ? 1 : 0;
}

}  // namespace

Result<HttpResponse> http_request(const HttpRequest& request) {
  const std::string what = request.method + " " + fetch_detail::url_for_messages(request.url);
  if (!request.allow_http && !fetch_detail::is_https_url(request.url)) {
    return Result<HttpResponse>::failure(what + ": refused, only https URLs are allowed");
  }
  fetch_detail::CurlEasy handle =
      fetch_detail::make_easy_handle(request.allow_http, request.ca_bundle);
  if (!handle) return Result<HttpResponse>::failure(what + ": cannot create a curl handle");
  CURL* curl = handle.get();

  HttpResponse response;
  BodySink sink{&response.body, request.max_body};
  char error_buffer[CURL_ERROR_SIZE] = {};
  fetch_detail::CurlHeaders headers;
  for (const std::string& line : request.headers) {
    curl_slist* appended = curl_slist_append(headers.get(), line.c_str());
    if (appended == nullptr) return Result<HttpResponse>::failure(what + ": out of memory");
    (void)headers.release();
    headers.reset(appended);
  }

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &append_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  // An announced Content-Length beyond the limit fails before any byte of the body arrives.
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(request.max_body));
  if (headers) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  if (!request.unix_socket.empty()) {
    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, request.unix_socket.c_str());
  }
  if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }

  if (request.cancel) {
    if (request.cancel->load()) return Result<HttpResponse>::failure(what + ": cancelled");
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &check_cancel);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA,
                     const_cast<std::atomic<bool>*>(request.cancel.get()));
  }

  const CURLcode code = curl_easy_perform(curl);
  if (code == CURLE_ABORTED_BY_CALLBACK && request.cancel && request.cancel->load()) {
    return Result<HttpResponse>::failure(what + ": cancelled");
  }
  if (sink.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    return Result<HttpResponse>::failure(what + ": reply larger than " +
                                         std::to_string(request.max_body) + " bytes");
  }
  if (code != CURLE_OK) {
    return Result<HttpResponse>::failure(
        what + ": " +
        fetch_detail::describe_curl_failure(curl, code, error_buffer, request.timeout));
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace visor
