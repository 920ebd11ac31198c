#include "curl_easy.h"

#include <cctype>
#include <cerrno>
#include <mutex>
#include <string>

#include "visor/common/result.h"

namespace visor::fetch_detail {
namespace {

bool starts_with_no_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

// curl_global_init is not thread-safe and must run once before any handle exists. If it
// fails, curl_easy_init() fails too and callers report "cannot create a curl handle".
void initialise_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { (void)curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// "Could not resolve host" -> "could not resolve host", but "SSL ..." and "OpenSSL ..." keep
// their capitals: only a first word that is capitalised and otherwise lower case is lowered.
std::string lower_first(std::string text) {
  bool capitalised_word = !text.empty() && std::isupper(static_cast<unsigned char>(text[0]));
  for (std::size_t i = 1; i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]));
       ++i) {
    if (std::isupper(static_cast<unsigned char>(text[i]))) capitalised_word = false;
  }
  if (capitalised_word)
    text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  while (!text.empty() && (text.back() == '\n' || text.back() == '.')) text.pop_back();
  return text;
}

}  // namespace

CurlEasy make_easy_handle(bool allow_http, const std::string& ca_bundle) {
  initialise_curl_once();
  CurlEasy handle(curl_easy_init());
  if (!handle) return handle;
  CURL* curl = handle.get();
  const char* protocols = allow_http ? "http,https" : "https";
  // The security settings must take: a libcurl that rejects one gets no handle at all.
  if (curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, protocols) != CURLE_OK ||
      curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, protocols) != CURLE_OK ||
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
      (!ca_bundle.empty() &&
       curl_easy_setopt(curl, CURLOPT_CAINFO, ca_bundle.c_str()) != CURLE_OK)) {
    return CurlEasy();
  }
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "visor/" VISOR_VERSION);
  // Proxies from the environment (https_proxy, no_proxy) are honoured by libcurl itself.
  return handle;
}

bool is_https_url(std::string_view url) { return starts_with_no_case(url, "https://"); }

std::string url_for_messages(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const std::size_t authority_start = scheme_end + 3;
  const std::size_t authority_end = url.find_first_of("/?#", authority_start);
  const std::string_view authority = url.substr(
      authority_start, authority_end == std::string_view::npos ? std::string_view::npos
                                                               : authority_end - authority_start);
  const std::size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  std::string cleaned(url.substr(0, authority_start));
  cleaned += url.substr(authority_start + at + 1);
  return cleaned;
}

std::string describe_curl_failure(CURL* handle, CURLcode code, const char* error_buffer,
                                  Duration timeout) {
  long os_errno = 0;
  curl_easy_getinfo(handle, CURLINFO_OS_ERRNO, &os_errno);
  if (code == CURLE_OPERATION_TIMEDOUT) {
    return "timed out after " + std::to_string(timeout.count()) + "ms";
  }
  if (code == CURLE_COULDNT_CONNECT && os_errno != 0) {
    if (os_errno == ECONNREFUSED) return "connection refused";
    return "cannot connect: " + lower_first(errno_text(static_cast<int>(os_errno)));
  }
  // Otherwise curl's own sentence is the most specific ("Could not resolve host: x", "SSL
  // certificate problem: ...", "transfer closed with 10 bytes remaining to read").
  std::string text = error_buffer != nullptr && error_buffer[0] != '\0'
                         ? lower_first(error_buffer)
                         : lower_first(curl_easy_strerror(code));
  switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
      text += " (a server with a private CA needs its certificate in --ca-bundle FILE)";
      break;
    default:
      break;
  }
  return text;
}

}  // namespace visor::fetch_detail
