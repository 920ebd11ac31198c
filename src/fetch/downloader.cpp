#include "visor/fetch/downloader.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <exception>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>

#include "curl_easy.h"
#include "file_io.h"
#include "part_file.h"
#include "visor/common/log.h"
#include "visor/fetch/sha256.h"
#include "visor/process/backoff.h"

namespace visor {
namespace {

using fetch_detail::PartFile;

/// How one transfer attempt ended.
enum class Outcome {
  complete,             ///< the body arrived in full (not yet verified)
  range_unsatisfiable,  ///< 416 to a resume: the .part may already be the whole artifact
  retry,                ///< a transient failure: try again after a pause
  fail,                 ///< a failure that retrying cannot fix
};

struct Attempt {
  Outcome outcome = Outcome::complete;
  std::string error;       ///< the cause, for retry and fail
  bool keep_part = false;  ///< for fail: whether the .part is worth resuming later
};

/// Why a callback stopped the transfer.
enum class Abort { none, too_large, write_error, cancelled, bad_range, callback_threw };

std::string to_lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool header_is(std::string_view line, std::string_view lower_name) {
  if (line.size() <= lower_name.size() || line[lower_name.size()] != ':') return false;
  return to_lower(std::string(line.substr(0, lower_name.size()))) == lower_name;
}

std::string_view header_value(std::string_view line) {
  line.remove_prefix(line.find(':') + 1);
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) {
    line.remove_suffix(1);
  }
  return line;
}

std::optional<std::uint64_t> parse_number(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

/// "bytes <first>-<last>/<total or *>": first and (when known) total.
bool parse_content_range(std::string_view value, std::uint64_t& first, std::uint64_t& total) {
  if (value.rfind("bytes ", 0) != 0) return false;
  value.remove_prefix(6);
  const std::size_t dash = value.find('-');
  const std::size_t slash = value.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) {
    return false;
  }
  const auto start = parse_number(value.substr(0, dash));
  if (!start) return false;
  first = *start;
  total = parse_number(value.substr(slash + 1)).value_or(0);
  return true;
}

std::string seconds_text(Duration duration) {
  return std::to_string((duration.count() + 999) / 1000) + "s";
}

bool is_permanent_curl_failure(CURLcode code) {
  switch (code) {
    case CURLE_UNSUPPORTED_PROTOCOL:  // includes a redirect to http:// when https-only
    case CURLE_URL_MALFORMAT:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_LOGIN_DENIED:
    case CURLE_REMOTE_ACCESS_DENIED:
      return true;
    default:
      return false;
  }
}

/// One call of download(): the .part file, the retry loop and the libcurl callbacks.
class Download {
 public:
  Download(const DownloadRequest& request, std::string expected, PartFile part)
      : request_(request),
        url_text_(fetch_detail::url_for_messages(request.url)),
        expected_(std::move(expected)),
        part_(std::move(part)),
        started_(SteadyClock::now()),
        deadline_(started_ + request.total_timeout) {}

  Result<DownloadResult> run();

 private:
  Attempt transfer();
  Attempt judge(CURL* curl, CURLcode code, const char* error_buffer);
  bool accept_headers();
  bool pause_before_retry(int attempt);
  bool cancelled() const { return request_.cancel != nullptr && request_.cancel->load(); }
  Result<DownloadResult> fail(const std::string& cause, bool keep_part);
  Result<DownloadResult> finish(std::string digest);

  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* self);
  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* self);
  static int on_transfer_info(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t);

  const DownloadRequest& request_;
  const std::string url_text_;
  const std::string expected_;
  PartFile part_;
  const TimePoint started_;
  const TimePoint deadline_;
  bool resumed_ = false;

  // State of the current attempt, reset by transfer().
  std::uint64_t range_start_ = 0;
  long status_ = 0;
  std::optional<std::uint64_t> content_length_;
  std::string content_range_;
  bool headers_accepted_ = false;
  std::uint64_t total_ = 0;
  Abort abort_ = Abort::none;
  std::string abort_error_;
  TimePoint last_report_;
  std::uint64_t bytes_at_last_report_ = 0;
};

Result<DownloadResult> Download::fail(const std::string& cause, bool keep_part) {
  if (!keep_part) part_.remove();
  return Result<DownloadResult>::failure("downloading " + url_text_ + " failed: " + cause);
}

Result<DownloadResult> Download::run() {
  const int attempts = std::max(1, request_.attempts);
  bool fresh_start_left = true;
  std::string last_error;
  for (int attempt = 1;; ++attempt) {
    if (cancelled()) return fail("cancelled", true);
    if (part_.size() > 0) {
      log::info("download_resume",
                "resuming " + url_text_ + " at byte " + std::to_string(part_.size()));
    }
    const Attempt result = transfer();
    switch (result.outcome) {
      case Outcome::complete: {
        Result<std::string> digest = part_.finish_digest();
        if (!digest) return fail(digest.error(), !fetch_detail::is_disk_full(part_.last_errno()));
        if (expected_.empty() || *digest == expected_) return finish(std::move(digest).value());
        if (resumed_ && fresh_start_left) {
          // The earlier bytes may belong to another artifact (a re-published release):
          // one download from scratch settles it.
          fresh_start_left = false;
          log::warn("download_restart", "checksum mismatch for " + url_text_ +
                                            " after resuming; downloading it again from the start");
          if (Status restarted = part_.restart(); !restarted) return fail(restarted.error(), false);
          resumed_ = false;
          attempt = 0;
          continue;
        }
        part_.remove();
        return Result<DownloadResult>::failure("checksum mismatch for " + url_text_ +
                                               ": expected " + expected_ + ", got " + *digest);
      }
      case Outcome::range_unsatisfiable: {
        // Typically an earlier run got every byte but stopped before the rename.
        Result<std::string> digest = part_.finish_digest();
        if (digest && !expected_.empty() && *digest == expected_)
          return finish(std::move(digest).value());
        if (Status restarted = part_.restart(); !restarted) return fail(restarted.error(), false);
        resumed_ = false;
        last_error = "HTTP 416 to a resume request";
        if (attempt >= attempts) break;
        continue;  // straight away: nothing is wrong with the server
      }
      case Outcome::fail:
        return fail(result.error, result.keep_part);
      case Outcome::retry:
        last_error = result.error;
        break;
    }
    if (attempt >= attempts) {
      return fail(attempts == 1
                      ? last_error
                      : "giving up after " + std::to_string(attempts) + " attempts: " + last_error,
                  true);
    }
    log::warn("download_retry", "download of " + url_text_ + " failed (attempt " +
                                    std::to_string(attempt) + " of " + std::to_string(attempts) +
                                    "): " + last_error);
    if (!pause_before_retry(attempt)) {
      return fail(cancelled()
                      ? "cancelled"
                      : "timed out after " + std::to_string(request_.total_timeout.count()) +
                            "ms (last error: " + last_error + ")",
                  true);
    }
  }
}

// The digest was taken while the bytes went to disk, so the file is not read a second time.
Result<DownloadResult> Download::finish(std::string digest) {
  DownloadResult result;
  result.path = request_.destination;
  result.sha256 = std::move(digest);
  result.size = part_.size();
  result.resumed = resumed_;
  if (Status committed = part_.commit(request_.destination); !committed) {
    return fail(committed.error(), false);
  }
  return result;
}

bool Download::pause_before_retry(int attempt) {
  static thread_local std::mt19937 random{std::random_device{}()};
  const Duration nominal = Backoff(request_.retry_initial, request_.retry_max).nominal(attempt);
  const Duration delay =
      Backoff::jittered(nominal, std::uniform_real_distribution<double>(0.0, 1.0)(random));
  const TimePoint until = SteadyClock::now() + delay;
  if (until >= deadline_) return false;
  while (SteadyClock::now() < until) {
    if (cancelled()) return false;
    std::this_thread::sleep_for(std::min<Duration>(
        Duration(50), std::chrono::duration_cast<Duration>(until - SteadyClock::now())));
  }
  return !cancelled();
}

Attempt Download::transfer() {
  range_start_ = part_.size();
  status_ = 0;
  content_length_.reset();
  content_range_.clear();
  headers_accepted_ = false;
  total_ = 0;
  abort_ = Abort::none;
  abort_error_.clear();
  last_report_ = SteadyClock::now();
  bytes_at_last_report_ = part_.size();

  const auto remaining =
      std::chrono::duration_cast<Duration>(deadline_ - SteadyClock::now()).count();
  if (remaining <= 0) {
    return {Outcome::fail,
            "timed out after " + std::to_string(request_.total_timeout.count()) + "ms", true};
  }
  fetch_detail::CurlEasy handle =
      fetch_detail::make_easy_handle(request_.allow_http, request_.ca_bundle);
  if (!handle) return {Outcome::fail, "cannot create a curl handle", true};
  CURL* curl = handle.get();
  char error_buffer[CURL_ERROR_SIZE] = {};
  const std::string range = std::to_string(range_start_) + "-";
  const long window_seconds =
      std::max<long>(1, static_cast<long>((request_.low_speed_window.count() + 999) / 1000));

  curl_easy_setopt(curl, CURLOPT_URL, request_.url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);  // >= 400: no body, CURLE_HTTP_RETURNED_ERROR
  if (range_start_ > 0) curl_easy_setopt(curl, CURLOPT_RANGE, range.c_str());
  curl_easy_setopt(
      curl, CURLOPT_CONNECTTIMEOUT_MS,
      static_cast<long>(std::min<long long>(request_.connect_timeout.count(), remaining)));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(remaining));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(request_.low_speed_bytes));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, window_seconds);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, static_cast<long>(fetch_detail::kIoBufferSize));
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &Download::on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Download::on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &Download::on_transfer_info);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, this);

  const CURLcode code = curl_easy_perform(curl);
  return judge(curl, code, error_buffer);
}

Attempt Download::judge(CURL* curl, CURLcode code, const char* error_buffer) {
  // Whatever happened, the disk must hold every byte counted, or a resume would skip some.
  if (abort_ == Abort::none) {
    if (Status flushed = part_.flush(); !flushed) {
      abort_ = Abort::write_error;
      abort_error_ = flushed.error();
    }
  }
  switch (abort_) {
    case Abort::too_large:
      return {Outcome::fail,
              "larger than the limit of " + std::to_string(request_.max_size) + " bytes", false};
    case Abort::write_error:
      return {Outcome::fail, abort_error_, !fetch_detail::is_disk_full(part_.last_errno())};
    case Abort::cancelled:
      (void)part_.flush();
      return {Outcome::fail, "cancelled", true};
    case Abort::callback_threw:
      (void)part_.flush();
      return {Outcome::fail, abort_error_, true};
    case Abort::bad_range:
      if (Status restarted = part_.restart(); !restarted) {
        return {Outcome::fail, restarted.error(), false};
      }
      return {Outcome::retry, abort_error_, false};
    case Abort::none:
      break;
  }

  long http_status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
  if (code == CURLE_OK) {
    if (http_status >= 200 && http_status < 300) return {Outcome::complete, "", true};
    return {Outcome::fail, "HTTP " + std::to_string(http_status), false};
  }
  if (code == CURLE_HTTP_RETURNED_ERROR) {
    const std::string what = "HTTP " + std::to_string(http_status);
    if (http_status == 416 && range_start_ > 0) return {Outcome::range_unsatisfiable, what, true};
    if (http_status == 408 || http_status == 429 || http_status >= 500) {
      return {Outcome::retry, what, true};
    }
    return {Outcome::fail, what, false};
  }
  if (is_permanent_curl_failure(code)) {
    return {Outcome::fail, fetch_detail::describe_curl_failure(curl, code, error_buffer, {}),
            false};
  }
  if (code == CURLE_OPERATION_TIMEDOUT) {
    if (SteadyClock::now() + Duration(50) >= deadline_) {
      return {Outcome::fail,
              "timed out after " + std::to_string(request_.total_timeout.count()) + "ms", true};
    }
    curl_off_t connect_time = 0;
    curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connect_time);
    if (connect_time == 0) {
      return {Outcome::retry,
              "connect timed out after " + std::to_string(request_.connect_timeout.count()) + "ms",
              true};
    }
    return {Outcome::retry,
            "stalled: less than " + std::to_string(request_.low_speed_bytes) + " bytes/s for " +
                seconds_text(request_.low_speed_window),
            true};
  }
  return {Outcome::retry, fetch_detail::describe_curl_failure(curl, code, error_buffer, {}), true};
}

// Runs once the headers of the final (2xx) reply are in: decides whether the body continues
// the .part or replaces it, and refuses an announced size beyond the limit.
bool Download::accept_headers() {
  headers_accepted_ = true;
  if (status_ == 206) {
    std::uint64_t first = 0;
    std::uint64_t total = 0;
    if (!parse_content_range(content_range_, first, total) || first != range_start_) {
      abort_ = Abort::bad_range;
      abort_error_ = "asked for bytes from " + std::to_string(range_start_) +
                     ", server sent Content-Range \"" + content_range_ + "\"";
      return false;
    }
    if (range_start_ > 0) resumed_ = true;
    total_ = total != 0 ? total : (content_length_ ? range_start_ + *content_length_ : 0);
  } else {
    if (part_.size() > 0) {  // the server ignored the Range header: start again
      if (Status restarted = part_.restart(); !restarted) {
        abort_ = Abort::write_error;
        abort_error_ = restarted.error();
        return false;
      }
      log::info("download_restart", url_text_ + " does not support resuming; starting over");
    }
    total_ = content_length_.value_or(0);
  }
  if (total_ > request_.max_size) {
    abort_ = Abort::too_large;
    return false;
  }
  return true;
}

std::size_t Download::on_header(char* data, std::size_t size, std::size_t count, void* self) {
  auto* download = static_cast<Download*>(self);
  const std::size_t bytes = size * count;
  const std::string_view line(data, bytes);
  if (line.rfind("HTTP/", 0) == 0) {  // a new reply (redirects and 100-continue bring several)
    const std::size_t space = line.find(' ');
    download->status_ = space == std::string_view::npos
                            ? 0
                            : std::atol(std::string(line.substr(space + 1, 3)).c_str());
    download->content_length_.reset();
    download->content_range_.clear();
  } else if (header_is(line, "content-length")) {
    download->content_length_ = parse_number(header_value(line));
  } else if (header_is(line, "content-range")) {
    download->content_range_ = std::string(header_value(line));
  } else if (line == "\r\n" || line == "\n") {
    if (download->status_ >= 200 && download->status_ < 300 && !download->accept_headers()) {
      return 0;
    }
  }
  return bytes;
}

std::size_t Download::on_body(char* data, std::size_t size, std::size_t count, void* self) {
  auto* download = static_cast<Download*>(self);
  const std::size_t bytes = size * count;
  if (!download->headers_accepted_ && !download->accept_headers()) return 0;
  if (download->part_.size() + bytes > download->request_.max_size) {
    download->abort_ = Abort::too_large;
    return 0;
  }
  if (Status appended = download->part_.append(data, bytes); !appended) {
    download->abort_ = Abort::write_error;
    download->abort_error_ = appended.error();
    return 0;
  }
  return bytes;
}

int Download::on_transfer_info(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* download = static_cast<Download*>(self);
  if (download->cancelled()) {
    download->abort_ = Abort::cancelled;
    return 1;
  }
  if (!download->request_.on_progress) return 0;
  const TimePoint now = SteadyClock::now();
  const auto elapsed = now - download->last_report_;
  if (elapsed < std::chrono::seconds(1)) return 0;
  DownloadProgress progress;
  progress.bytes = download->part_.size();
  progress.total = download->total_;
  progress.bytes_per_second =
      static_cast<double>(progress.bytes -
                          std::min(progress.bytes, download->bytes_at_last_report_)) /
      std::chrono::duration<double>(elapsed).count();
  download->last_report_ = now;
  download->bytes_at_last_report_ = progress.bytes;
  try {
    download->request_.on_progress(progress);
  } catch (const std::exception& error) {
    download->abort_ = Abort::callback_threw;
    download->abort_error_ = std::string("progress callback failed: ") + error.what();
    return 1;
  } catch (...) {
    download->abort_ = Abort::callback_threw;
    download->abort_error_ = "progress callback failed";
    return 1;
  }
  return 0;
}

}  // namespace

Result<DownloadResult> download(const DownloadRequest& request) {
  const std::string url_text = fetch_detail::url_for_messages(request.url);
  const auto refuse = [&](const std::string& why) {
    return Result<DownloadResult>::failure("refusing to download " + url_text + ": " + why);
  };
  if (request.url.empty()) return Result<DownloadResult>::failure("download: no URL given");
  if (request.destination.empty()) return refuse("no destination path given");
  std::string expected = to_lower(request.expected_sha256);
  if (expected.empty() && !request.allow_unverified) {
    return refuse("no SHA-256 is known for it (publish a checksum or allow unverified downloads)");
  }
  if (!expected.empty() && !is_sha256_hex(expected)) {
    return refuse("expected SHA-256 \"" + request.expected_sha256 + "\" is not 64 hex digits");
  }
  const bool https = fetch_detail::is_https_url(request.url);
  const bool http = to_lower(request.url.substr(0, 7)) == "http://";
  if (!https && !(http && request.allow_http)) {
    return refuse(http ? "plain http is not allowed (only https unless --allow-http)"
                       : "only http(s) URLs are supported");
  }
  Result<PartFile> part = PartFile::open(request.destination + ".part");
  if (!part)
    return Result<DownloadResult>::failure("downloading " + url_text + " failed: " + part.error());
  if (part->size() > request.max_size) {
    if (Status restarted = part.value().restart(); !restarted) {
      return Result<DownloadResult>::failure("downloading " + url_text +
                                             " failed: " + restarted.error());
    }
  }
  Download download(request, std::move(expected), std::move(part).value());
  return download.run();
}

}  // namespace visor
