// Artifact downloads: streamed to disk, hashed in the same pass, resumed, retried, verified.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "visor/common/clock.h"
#include "visor/common/result.h"

namespace visor {

/// How far a download has come; handed to DownloadRequest::on_progress.
struct DownloadProgress {
  std::uint64_t bytes = 0;      ///< bytes of the artifact held so far (resumed bytes included)
  std::uint64_t total = 0;      ///< the artifact's size; 0 while unknown
  double bytes_per_second = 0;  ///< recent transfer rate
};

/// One artifact to fetch. `url`, `destination` and (unless allow_unverified) `expected_sha256`
/// are required; the rest has defaults fit for release assets of up to 2 GiB.
struct DownloadRequest {
  std::string url;
  /// The final file path (normally in <home>/tmp/). Partial data lives in destination + ".part";
  /// `destination` itself only ever appears complete and verified.
  std::string destination;
  std::string expected_sha256;          ///< hex (either case); empty only when allow_unverified
  bool allow_unverified = false;        ///< accept an artifact whose hash nobody published
  bool allow_http = false;              ///< also accept http:// (and redirects to it)
  std::string ca_bundle;                ///< optional CA file; TLS verification is always on
  std::uint64_t max_size = 2ULL << 30;  ///< larger artifacts are refused (announced or actual)
  Duration connect_timeout{15000};
  /// Abort an attempt that moves fewer than `low_speed_bytes` per second for this long
  /// (libcurl measures whole seconds: the window is rounded up to a second).
  Duration low_speed_window{30000};
  std::uint64_t low_speed_bytes = 1024;
  Duration total_timeout{30 * 60 * 1000};  ///< for the whole download, retries included
  int attempts = 5;                        ///< transfers tried at most (at least 1)
  Duration retry_initial{1000};            ///< first retry delay; doubles up to retry_max
  Duration retry_max{30000};
  /// Called at most once per second, on the thread that called download(). An exception
  /// thrown from it aborts the download with an error (it never crosses libcurl).
  std::function<void(const DownloadProgress&)> on_progress;
  /// When it becomes true the download stops soon (within about a second), keeping the
  /// .part file for a later resume.
  const std::atomic<bool>* cancel = nullptr;
};

/// A verified artifact at DownloadRequest::destination.
struct DownloadResult {
  std::string path;    ///< == destination
  std::string sha256;  ///< lower-case hex of the file, verified unless allow_unverified
  std::uint64_t size = 0;
  bool resumed = false;  ///< some bytes came from an earlier transfer (a .part or a retry)
};

/// Streams `request.url` to destination.part while hashing in the same pass (memory stays flat
/// whatever the size). An existing .part is resumed with an HTTP Range request (its bytes are
/// hashed first; a 200 reply restarts from zero, and so does a 416 unless the .part is already
/// the whole artifact). Transport errors, 408, 429 and 5xx are retried with exponential backoff
/// (with jitter); 404 and other 4xx, TLS failures, size limit and checksum mismatch are not.
/// The SHA-256 is verified, the file fsynced and only then renamed .part -> destination.
/// A mismatch deletes the .part; the error says
/// "checksum mismatch for <url>: expected <hex>, got <hex>" (when resumed bytes were involved
/// one fresh download is tried first). Refused before any request: no expected hash without
/// allow_unverified, a non-https URL without allow_http. Write errors say
/// "writing <path>: <strerror>"; a full disk also deletes the .part. Blocking: call it off the
/// main thread. Never throws.
Result<DownloadResult> download(const DownloadRequest& request);

}  // namespace visor
