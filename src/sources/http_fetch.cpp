#include "visor/sources/http_fetch.h"

#include "visor/sources/json_fields.h"

#include "visor/common/outside_text.h"

namespace visor {

std::string url_for_display(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const auto authority_start = scheme_end + 3;
  const auto authority_end = url.find_first_of("/?#", authority_start);
  const auto at = url.substr(authority_start, authority_end == std::string_view::npos
                                                  ? std::string_view::npos
                                                  : authority_end - authority_start)
                      .rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, authority_start)) +
         std::string(url.substr(authority_start + at + 1));
}

FetchOutcome fetch_http(const HttpFunction& http, const HttpRequest& request,
                        const std::string& object) {
  FetchOutcome outcome;
  auto reply = http(request);
  if (!reply) {
    // http_request names "<METHOD> <url>: "; the caller names the object its own way.
    std::string cause = reply.error();
    const std::string prefix = request.method + " " + url_for_display(request.url) + ": ";
    if (cause.rfind(prefix, 0) == 0) cause.erase(0, prefix.size());
    outcome.kind = FetchOutcome::Kind::failed;
    outcome.error = object + ": " + cause;
    return outcome;
  }
  if (reply->status < 200 || reply->status > 299) {
    outcome.kind = FetchOutcome::Kind::failed;
    outcome.http_status = reply->status;
    outcome.error = object + ": HTTP " + std::to_string(reply->status);
    if (!reply->body.empty()) outcome.error += " (" + outside_text(reply->body) + ")";
    return outcome;
  }
  outcome.kind = FetchOutcome::Kind::ok;
  outcome.body = std::move(reply).value().body;
  return outcome;
}

}  // namespace visor
