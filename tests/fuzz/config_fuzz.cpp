// Fuzzes the JSON config file path of load_config: the input is written as <dir>/config.json
// and loaded with --config; every option setter (durations, sizes, enums, regexes, word
// lists) sees fuzzed values. Never throws, and every failure is reported as an error line.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "fuzz_check.h"
#include "visor/config/config_loader.h"

namespace {

const std::string& config_path() {
  static const std::string path = [] {
    char pattern[] = "/tmp/visor-fuzz-config-XXXXXX";
    const char* dir = mkdtemp(pattern);
    if (dir == nullptr) std::abort();
    static std::string made;
    made = dir;
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(made, ignored);
    });
    return std::string(dir) + "/config.json";
  }();
  return path;
}

const char* no_environment(const char* name) {
  // The fuzzer's own environment must not change the result; HOME keeps the default home away
  // from a real config.json.
  return std::string(name) == "HOME" ? "/nonexistent-visor-fuzz-home" : nullptr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = config_path();
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, file) != size) std::abort();
  std::fclose(file);

  visor::RawValues command_line;
  command_line["config"] = visor::RawValue{path, "--config"};
  try {
    const visor::LoadedConfig loaded = visor::load_config(command_line, no_environment, false);
    for (const auto& error : loaded.errors) FUZZ_CHECK(!error.empty(), "an empty error line");
  } catch (...) {
    FUZZ_CHECK(false, "load_config threw: errors must be collected, not thrown");
  }
  return 0;
}
