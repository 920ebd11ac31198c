// visor-fetch-bench URL SHA256 OUTDIR: one download() with the production settings, timed.
// Used by tests/bench/fetch_bench.sh to compare against `curl -s URL | sha256sum`.
#include <chrono>
#include <cstdio>
#include <string>

#include "visor/fetch/downloader.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: visor-fetch-bench URL SHA256 OUTDIR\n");
    return 2;
  }
  visor::DownloadRequest request;
  request.url = argv[1];
  request.expected_sha256 = argv[2];
  request.destination = std::string(argv[3]) + "/artifact";
  request.allow_http = true;  // the benchmark server is plain http on 127.0.0.1
  request.max_size = 8ULL << 30;
  const auto started = std::chrono::steady_clock::now();
  const visor::Result<visor::DownloadResult> result = visor::download(request);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!result.ok()) {
    std::fprintf(stderr, "visor-fetch-bench: %s\n", result.error().c_str());
    return 1;
  }
  std::printf("%s  %llu bytes  %.3f s  %.1f MiB/s\n", result->sha256.c_str(),
              static_cast<unsigned long long>(result->size), seconds,
              static_cast<double>(result->size) / (1 << 20) / seconds);
  return 0;
}
