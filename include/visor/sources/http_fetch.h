// The HTTP side of the polled sources (lava, vega): one request, judged the same way for both.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "visor/common/result.h"
#include "visor/fetch/http_client.h"
#include "visor/sources/poll_loop.h"

namespace visor {

/// Performs one blocking HTTP request; http_request in production, a fake in tests.
/// Must be safe to call from the worker thread.
using HttpFunction = std::function<Result<HttpResponse>(const HttpRequest&)>;

/// The largest reply a source accepts (1 MiB); a longer one is aborted early and is an error.
inline constexpr std::size_t kSourceReplyLimit = std::size_t{1} << 20;

/// `url` without user:password@ in its authority, for messages.
std::string url_for_display(std::string_view url);

/// Runs `request` through `http` and judges it: a 2xx reply is ok with its body; any other
/// status fails as "<object>: HTTP 503 (<start of the body>)"; a transport failure fails as
/// "<object>: <cause>" (e.g. "timed out after 500ms", "connection refused").
FetchOutcome fetch_http(const HttpFunction& http, const HttpRequest& request,
                        const std::string& object);

}  // namespace visor
