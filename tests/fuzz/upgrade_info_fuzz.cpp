// Fuzzes parse_upgrade_info (with its nested `info` JSON), binary_url_for, sha256_from_url and
// decide_cosmos: a parsed plan has a name; a sha256 is 64 lower-case hex digits.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "visor/sources/upgrade_info.h"

namespace {

bool is_sha256_hex(const std::string& text) {
  if (text.size() != 64) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto parsed = visor::parse_upgrade_info(body);
  if (!parsed) {
    FUZZ_CHECK(!parsed.error().empty(), "a failure without a message");
    // The same bytes as a URL.
    const std::string sha = visor::sha256_from_url(body);
    FUZZ_CHECK(sha.empty() || is_sha256_hex(sha), "sha256_from_url returned something else");
    return 0;
  }
  FUZZ_CHECK(!parsed->name.empty(), "a plan without a name");
  for (const auto& [platform, url] : parsed->binaries) {
    const std::string sha = visor::sha256_from_url(url);
    FUZZ_CHECK(sha.empty() || is_sha256_hex(sha), "sha256_from_url returned something else");
  }
  (void)visor::binary_url_for(parsed.value(), "linux", "amd64");
  for (const char* current : {"", "1.0.0", "2.0.0"}) {
    const visor::UpgradeDecision decision =
        visor::decide_cosmos(parsed.value(), "", current, visor::Platform{"linux", "amd64"});
    FUZZ_CHECK(decision.sha256.empty() || is_sha256_hex(decision.sha256),
               "a bad sha256 in a decision");
    FUZZ_CHECK(decision.plan == parsed->name, "the decision names another plan");
  }
  return 0;
}
