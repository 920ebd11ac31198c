// Staging a version: download the artifact, verify its SHA-256 while streaming, unpack it,
// check the version it reports, and move it into upgrades/<version>/. Nothing in tmp/ runs
// before its SHA-256 is verified: the artifact is re-hashed just before it is unpacked (against
// the expected SHA-256, or with --insecure-skip-checksum against the one computed while it
// streamed), the unpacked binary is hashed before the version probe runs it, and the installed
// binary must still have that hash, which StageResult::sha256 carries to state.json. Blocking: runs
// on the Worker thread, never on the supervisor's io_context.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "visor/common/live_status.h"
#include "visor/common/result.h"
#include "visor/common/worker.h"
#include "visor/config/options.h"
#include "visor/fetch/downloader.h"
#include "visor/store/binary_store.h"

namespace visor {

struct StageRequest {
  std::string version;  ///< normalized (no v); empty when only a Cosmos plan name is known
  std::string url;      ///< explicit artifact URL (Cosmos binaries map); empty: --download-url
  std::string sha256;   ///< explicit SHA-256; empty: from the URL's ?checksum= or --checksum-url
  std::string label;    ///< what the version is called in logs when `version` is empty
  std::function<void(const DownloadProgress&)> on_progress;
  /// Set when visor exits: the checksum request and the download stop soon. Shared, so that the
  /// staging job keeps the flag alive however long it runs.
  std::shared_ptr<const std::atomic<bool>> cancel;
};

struct StageResult {
  std::string version;      ///< the version now in upgrades/
  std::string url;          ///< the first artifact's URL
  std::uint64_t bytes = 0;  ///< of every artifact downloaded
  bool resumed = false;
  bool already_present = false;
  std::string sha256;  ///< of the installed binary (empty when already_present)
};

/// Downloads, verifies, unpacks, probes and installs one version into `store`, with every
/// binary of store.names(): one download per distinct artifact URL (an archive provides each
/// binary named in it; a bare artifact is fetched once per name through {name}), one fetch of
/// each checksum file, and each binary must report the same version.
/// Only the filesystem of `store` is touched (install_directory), never its state.
Result<StageResult> stage_version(const StageRequest& request, const Options& options,
                                  const BinaryStore& store);

/// Runs stage_version on `worker`. On the main thread: each progress report is logged in one line
/// and given to `on_progress` (percent, or -1 when the size is unknown, and the bytes added
/// since the last report); `done` gets the outcome after its one line is logged.
/// `request.on_progress` is set here.
void stage_in_background(Worker& worker, StageRequest request, const Options& options,
                         const BinaryStore& store,
                         std::function<void(int percent, std::uint64_t added)> on_progress,
                         std::function<void(const Result<StageResult>&)> done);

/// stage_in_background for an upgrade visor carries out: `status` shows the download
/// (download_percent from 0, -1 again at the end; download_bytes_total grows) and `changed` runs
/// after each report; a staged binary's SHA-256 is recorded in `store` (checked before it ever
/// runs) before `done` gets the outcome.
void stage_showing_progress(Worker& worker, StageRequest request, const Options& options,
                            BinaryStore& store, LiveStatus& status, std::function<void()> changed,
                            std::function<void(const Result<StageResult>&)> done);

/// The artifact URL for `version` from --download-url; empty when downloads are off.
std::string artifact_url(const Options& options, const std::string& name,
                         const std::string& version);

}  // namespace visor
