// Fuzzes the store's checks at start: parse_state on any state.json text, and check_current()
// on a home whose `current` link target and state.json come from the input.
// Input: the first line is the target of the `current` symlink (empty: no link), the rest is
// state.json. The home holds upgrades/1.0.0 and upgrades/2.0.0, each with a real binary.
// Checks: parsing never throws and a parsed state renders and parses back to the same text;
// whenever check_current() accepts the home, `current` is a link that resolves into
// <home>/upgrades/<version> and that binary matches the SHA-256 the store records.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "visor/common/log.h"
#include "visor/common/sha256.h"
#include "visor/store/binary_store.h"
#include "visor/store/state_file.h"

namespace {

namespace fs = std::filesystem;

const std::string& root() {
  static const std::string path = [] {
    char pattern[] = "/tmp/visor-fuzz-store-XXXXXX";
    const char* made = ::mkdtemp(pattern);
    FUZZ_CHECK(made != nullptr, "mkdtemp failed");
    visor::log::setup(visor::log::Format::text, visor::log::Level::error);
    return std::string(made);
  }();
  return path;
}

void write(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string target(input.substr(0, newline));
  const std::string state_text(newline == std::string_view::npos ? std::string_view()
                                                                 : input.substr(newline + 1));

  // parse_state: a value or a message, never an exception; a parsed state round-trips.
  const auto parsed = visor::parse_state(state_text);
  if (parsed) {
    const std::string rendered = visor::render_state(parsed.value());
    const auto again = visor::parse_state(rendered);
    FUZZ_CHECK(again.ok(), "a rendered state does not parse");
    FUZZ_CHECK(visor::render_state(again.value()) == rendered, "the state does not round-trip");
  } else {
    FUZZ_CHECK(!parsed.error().empty(), "a failure without a message");
  }

  // A fresh home for every input: a repair moves folders and rewrites the link.
  const std::string home = root() + "/home";
  std::error_code error;
  fs::remove_all(home, error);
  for (const char* version : {"1.0.0", "2.0.0"}) {
    fs::create_directories(home + "/upgrades/" + version, error);
    write(home + "/upgrades/" + version + "/lavap", std::string("#!/bin/sh\necho ") + version);
    fs::permissions(home + "/upgrades/" + version + "/lavap", fs::perms::owner_all, error);
  }
  fs::create_directories(home + "/tmp", error);
  write(home + "/state.json", state_text);
  if (!target.empty() && target.find('\0') == std::string::npos) {
    fs::create_directory_symlink(target, home + "/current", error);
  }

  visor::BinaryStore store(home, "lavap");
  if (!store.open()) return 0;  // state.json not valid: visor stops with that message
  const visor::Status checked = store.check_current();
  if (!checked) {
    FUZZ_CHECK(!checked.error().empty(), "a refusal without a message");
    return 0;
  }
  const auto version = store.current_version();
  if (!version) {
    // Accepted without a current: only a new home (no link, no current in state.json).
    FUZZ_CHECK(!fs::is_symlink(home + "/current", error), "an unusable current was accepted");
    return 0;
  }
  const fs::path resolved = fs::canonical(home + "/current", error);
  FUZZ_CHECK(!error, "an accepted current does not resolve");
  FUZZ_CHECK(resolved == fs::canonical(home + "/upgrades/" + *version, error),
             "an accepted current resolves outside <home>/upgrades/<version>");
  const auto hashed = visor::sha256_file(store.binary_path(*version));
  FUZZ_CHECK(hashed.ok() && hashed.value() == store.recorded_hash(*version),
             "an accepted current does not match its recorded SHA-256");
  return 0;
}
