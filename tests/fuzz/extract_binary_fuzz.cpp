// Fuzzes extract_binary with the input as the artifact (bare binary, tar, tar.gz, zip, ...).
// Everything happens in a private folder:
//   <base>/artifact     the input
//   <base>/out/lavap    the only file extract_binary may create
// After each run nothing else may exist under <base> (no entry written anywhere, no leftover
// temporary file), a success has written exactly the bytes it reports (at most max_total) with
// mode 0755, and a failure has left nothing in out/.
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "fuzz_check.h"
#include "visor/fetch/unpack.h"

namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kMaxTotal = 1 << 20;

const std::string& base_dir() {
  static const std::string base = [] {
    char pattern[] = "/tmp/visor-fuzz-unpack-XXXXXX";
    const char* dir = mkdtemp(pattern);
    if (dir == nullptr) std::abort();
    static std::string made;
    made = dir;
    std::atexit([] {
      std::error_code ignored;
      fs::remove_all(made, ignored);
    });
    return std::string(dir);
  }();
  return base;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& base = base_dir();
  const std::string artifact = base + "/artifact";
  const std::string out = base + "/out";
  const std::string destination = out + "/lavap";
  std::error_code ignored;
  fs::remove_all(out, ignored);
  fs::create_directory(out);

  FILE* file = std::fopen(artifact.c_str(), "wb");
  if (file == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, file) != size) std::abort();
  std::fclose(file);

  const auto extracted = visor::extract_binary(artifact, "lavap", destination, kMaxTotal);

  // Nothing but the artifact, out/ and (on success) out/lavap exists under <base>.
  for (const auto& entry : fs::recursive_directory_iterator(base)) {
    const std::string path = entry.path().string();
    const bool allowed = path == artifact || path == out || (path == destination && extracted.ok());
    if (!allowed) std::fprintf(stderr, "unexpected file after extract_binary: %s\n", path.c_str());
    FUZZ_CHECK(allowed, "extract_binary wrote outside its destination or left a file behind");
  }
  if (extracted) {
    struct stat info {};
    FUZZ_CHECK(::lstat(destination.c_str(), &info) == 0, "success without a destination file");
    FUZZ_CHECK(S_ISREG(info.st_mode), "the destination is not a regular file");
    FUZZ_CHECK((info.st_mode & 07777) == 0755, "the destination is not mode 0755");
    FUZZ_CHECK(static_cast<std::uint64_t>(info.st_size) == extracted.value(),
               "reported size differs");
    FUZZ_CHECK(extracted.value() <= kMaxTotal || extracted.value() == size,
               "more than max_total unpacked from an archive");
  } else {
    FUZZ_CHECK(!extracted.error().empty(), "a failure without a message");
  }
  return 0;
}
