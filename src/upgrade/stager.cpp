#include "visor/upgrade/stager.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <utility>
#include <vector>

#include "visor/common/log.h"
#include "visor/common/sha256.h"
#include "visor/fetch/checksum_file.h"
#include "visor/fetch/http_client.h"
#include "visor/fetch/unpack.h"
#include "visor/fetch/url_template.h"
#include "visor/store/version_probe.h"

namespace visor {

namespace fs = std::filesystem;

std::string artifact_url(const Options& options, const std::string& name,
                         const std::string& version) {
  if (options.download_url.empty()) return {};
  TemplateValues values;
  values.version = version;
  values.name = name;
  return expand_url_template(options.download_url, values);
}

namespace {

// Checksum files already fetched in one staging, by URL: a version of several binaries needs
// one fetch of its sha256sum.txt, not one per binary.
using ChecksumFiles = std::map<std::string, std::string>;

// Finds the SHA-256 the artifact must have: given, on the URL, or in the checksum file.
Result<std::string> expected_checksum(const StageRequest& request, const Options& options,
                                      const std::string& name, const std::string& url,
                                      ChecksumFiles& fetched) {
  if (!request.sha256.empty()) return request.sha256;
  if (auto from_url = checksum_from_url(url)) return *from_url;
  if (!options.checksum_url.empty() && !request.version.empty()) {
    TemplateValues values;
    values.version = request.version;
    values.name = name;
    HttpRequest get;
    get.url = expand_url_template(options.checksum_url, values);
    get.timeout = options.request_timeout;
    get.max_body = 1 << 20;
    get.allow_http = options.allow_http;
    get.ca_bundle = options.ca_bundle;
    get.cancel = request.cancel;
    auto known = fetched.find(get.url);
    if (known == fetched.end()) {
      auto reply = http_request(get);
      if (!reply) return Result<std::string>::failure("checksum file " + reply.error());
      if (reply->status != 200) {
        return Result<std::string>::failure("checksum file GET " + get.url + ": HTTP " +
                                            std::to_string(reply->status));
      }
      known = fetched.emplace(get.url, reply->body).first;
    }
    auto found = find_checksum(known->second, file_name_of_url(url));
    if (!found)
      return Result<std::string>::failure("checksum file " + get.url + ": " + found.error());
    return found.value();
  }
  if (options.insecure_skip_checksum) return std::string();
  return Result<std::string>::failure(
      "no SHA-256 known for " + url +
      " (set --checksum-url, use a ?checksum=sha256:<hex> URL, or pass "
      "--insecure-skip-checksum)");
}

}  // namespace

Result<StageResult> stage_version(const StageRequest& request, const Options& options,
                                  const BinaryStore& store) {
  const std::string label = request.version.empty() ? request.label : request.version;
  StageResult result;
  if (!request.version.empty() && store.has_version(request.version)) {
    result.version = request.version;
    result.already_present = true;
    return result;
  }
  // One artifact per distinct URL: an archive provides every binary named in it, a bare
  // artifact is fetched once per binary name through {name}.
  std::vector<std::pair<std::string, std::vector<std::string>>> artifacts;  // raw URL -> names
  for (const auto& name : store.names()) {
    const std::string raw_url =
        request.url.empty() ? artifact_url(options, name, request.version) : request.url;
    if (raw_url.empty()) {
      return Result<StageResult>::failure(
          "cannot fetch " + name + " " + label +
          ": downloads are off (no --download-url) and it is not staged");
    }
    auto same = std::find_if(artifacts.begin(), artifacts.end(),
                             [&](const auto& entry) { return entry.first == raw_url; });
    if (same == artifacts.end()) {
      artifacts.push_back({raw_url, {name}});
    } else {
      same->second.push_back(name);
    }
  }

  // tmp/ holds the artifacts (resumable .part) and the folder being prepared.
  std::string safe_label;
  for (const char c : label)
    safe_label.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c
                                                                                             : '_');
  auto work = store.fresh_work_dir("stage-" + safe_label);
  if (!work) return Result<StageResult>::failure(work.error());
  const std::string prepared = work.value();
  std::error_code error;
  auto cleanup = [&] {
    std::error_code ignored;
    fs::remove_all(prepared, ignored);
  };

  ChecksumFiles checksum_files;
  std::vector<std::string> downloaded_artifacts;
  for (const auto& [raw_url, names] : artifacts) {
    auto checksum = expected_checksum(request, options, names.front(), raw_url, checksum_files);
    if (!checksum) {
      cleanup();
      return Result<StageResult>::failure(checksum.error());
    }
    const std::string url = strip_checksum_query(raw_url);
    if (result.url.empty()) result.url = url;
    const std::string artifact = store.tmp_dir() + "/" + safe_label + "-" + file_name_of_url(url);
    if (checksum.value().empty()) {
      // With no expected SHA-256 nothing could vouch for bytes a .part already holds (one left
      // in tmp/ by anyone while visor was down): the download starts from the first byte.
      fs::remove(artifact + ".part", error);
    }
    DownloadRequest download_request;
    download_request.url = url;
    download_request.destination = artifact;
    download_request.expected_sha256 = checksum.value();
    download_request.allow_unverified = options.insecure_skip_checksum;
    download_request.allow_http = options.allow_http;
    download_request.ca_bundle = options.ca_bundle;
    download_request.max_size = options.max_artifact_size;
    download_request.total_timeout = options.download_timeout;
    download_request.on_progress = request.on_progress;
    download_request.cancel = request.cancel.get();  // `request` outlives the download
    auto downloaded = download(download_request);
    if (!downloaded) {
      cleanup();
      return Result<StageResult>::failure(downloaded.error());
    }
    downloaded_artifacts.push_back(artifact);
    result.bytes += downloaded->size;
    result.resumed = result.resumed || downloaded->resumed;
    // The artifact on disk must still be the bytes whose SHA-256 was verified as they
    // streamed: what is unpacked (and then probed) is what was verified.
    const std::string artifact_sha256 =
        checksum.value().empty() ? downloaded->sha256 : checksum.value();
    auto artifact_now = sha256_file(artifact);
    if (!artifact_now || !same_sha256(artifact_now.value(), artifact_sha256)) {
      cleanup();
      fs::remove(artifact, error);
      return Result<StageResult>::failure(
          "the artifact from " + url + " changed in " + store.tmp_dir() +
          " after its SHA-256 was verified" +
          (artifact_now ? std::string() : ": " + artifact_now.error()) + "; fetching it again");
    }
    for (const auto& name : names) {
      auto extracted =
          extract_binary(artifact, name, prepared + "/" + name, options.max_artifact_size);
      if (!extracted) {
        cleanup();
        fs::remove(artifact, error);
        return Result<StageResult>::failure("the artifact from " + url + ": " + extracted.error());
      }
      auto reported = probe_version(prepared + "/" + name, options.version_args);
      if (!reported) {
        cleanup();
        return Result<StageResult>::failure("the artifact from " + url +
                                            " does not run: " + reported.error());
      }
      const std::string expected = request.version.empty() ? result.version : request.version;
      if (!expected.empty() && reported->str() != expected) {
        cleanup();
        return Result<StageResult>::failure("the artifact from " + url + " reports version " +
                                            reported->str() + " for " + name + ", not " + expected +
                                            "; refused");
      }
      result.version = reported->str();
    }
  }
  // What the store will hold, hashed as it was probed.
  auto binary_sha256 = BinaryStore::hash_binaries(prepared, store.names());
  if (!binary_sha256) {
    cleanup();
    return Result<StageResult>::failure(binary_sha256.error());
  }
  auto remove_artifacts = [&] {
    for (const auto& artifact : downloaded_artifacts) fs::remove(artifact, error);
  };
  if (store.has_version(result.version)) {
    cleanup();
    remove_artifacts();
    result.already_present = true;
    return result;
  }
  Status installed = store.install_directory(result.version, prepared);
  if (!installed) {
    cleanup();
    return Result<StageResult>::failure(installed.error());
  }
  remove_artifacts();
  // The bytes installed are the bytes probed: that hash is what the store holds the binaries to.
  auto installed_sha256 = store.hash_binary(result.version);
  if (!installed_sha256 || installed_sha256.value() != binary_sha256.value()) {
    fs::remove_all(store.version_dir(result.version), error);
    return Result<StageResult>::failure(store.version_dir(result.version) +
                                        " changed while it was installed; it is not recorded");
  }
  result.sha256 = binary_sha256.value();
  return result;
}

void stage_in_background(Worker& worker, StageRequest request, const Options& options,
                         const BinaryStore& store,
                         std::function<void(int percent, std::uint64_t added)> on_progress,
                         std::function<void(const Result<StageResult>&)> done) {
  const std::string label = request.version.empty() ? request.label : request.version;
  log::info("download_started", "fetching " + store.name() + " " + label, {{"version", label}});
  auto last_bytes = std::make_shared<std::uint64_t>(0);
  request.on_progress = [&worker, label, last_bytes,
                         on_progress = std::move(on_progress)](const DownloadProgress& got) {
    worker.to_main([label, last_bytes, on_progress, got] {
      const std::uint64_t added = got.bytes >= *last_bytes ? got.bytes - *last_bytes : 0;
      *last_bytes = got.bytes;
      const int percent = got.total > 0 ? static_cast<int>(got.bytes * 100 / got.total) : -1;
      char rate[32];
      std::snprintf(rate, sizeof rate, "%.1f", got.bytes_per_second / (1024.0 * 1024.0));
      log::info("download_progress",
                "downloading " + label + ": " +
                    (percent >= 0 ? std::to_string(percent) + "%" : std::string("?")) + " (" +
                    std::to_string(got.bytes) + " bytes, " + rate + " MiB/s)",
                {{"version", label}});
      on_progress(percent, added);
    });
  };
  worker.run([request, &options, &store] { return stage_version(request, options, store); },
             [name = store.name(), done = std::move(done)](const Result<StageResult>& result) {
               if (result) {
                 const StageResult& staged = result.value();
                 log::info(
                     "staged",
                     "staged " + name + " " + staged.version +
                         (staged.already_present
                              ? " (already present)"
                              : " (" + std::to_string(staged.bytes) + " bytes, SHA-256 verified" +
                                    (staged.resumed ? ", resumed" : "") + ")"),
                     {{"version", staged.version}});
               }
               done(result);
             });
}

void stage_showing_progress(Worker& worker, StageRequest request, const Options& options,
                            BinaryStore& store, LiveStatus& status, std::function<void()> changed,
                            std::function<void(const Result<StageResult>&)> done) {
  status.download_percent = 0;
  stage_in_background(
      worker, std::move(request), options, store,
      [&status, changed = std::move(changed)](int percent, std::uint64_t added) {
        status.download_bytes_total += added;
        status.download_percent = percent;
        changed();
      },
      [&store, &status, done = std::move(done)](const Result<StageResult>& result) {
        status.download_percent = -1;
        if (result) store.record_hash(result->version, result->sha256);
        done(result);
      });
}

}  // namespace visor
