// Private to src/fetch: what http_client and downloader share about libcurl.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <string>
#include <string_view>

#include "visor/common/clock.h"

namespace visor::fetch_detail {

struct CurlEasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct CurlSlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;
using CurlHeaders = std::unique_ptr<curl_slist, CurlSlistDeleter>;

/// A fresh easy handle with the settings every visor transfer shares: no signals (we run on
/// worker threads), TLS peer and host verification on, redirects followed (GitHub release
/// assets redirect to a CDN) but only to https unless `allow_http`. Null when curl cannot
/// allocate one. Initialises libcurl process-wide on first use (thread-safe).
CurlEasy make_easy_handle(bool allow_http, const std::string& ca_bundle);

/// True when `url` starts with "https://" (any case).
bool is_https_url(std::string_view url);

/// `url` without any "user:password@" part, for messages and logs.
std::string url_for_messages(std::string_view url);

/// What a failed curl_easy_perform means, in words: "connection refused",
/// "timed out after 10000ms", "cannot resolve host example.invalid", ... `error_buffer` is the
/// handle's CURLOPT_ERRORBUFFER contents; `timeout` is the whole-transfer deadline that was set.
std::string describe_curl_failure(CURL* handle, CURLcode code, const char* error_buffer,
                                  Duration timeout);

}  // namespace visor::fetch_detail
