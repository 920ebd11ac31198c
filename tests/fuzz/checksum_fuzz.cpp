// Fuzzes find_checksum (the sha256sum.txt reader) and the URL helpers. The first input line is
// the file name looked up, the rest is the checksum file. A found checksum is 64 lower-case hex.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "visor/fetch/checksum_file.h"

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
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string_view name =
      newline == std::string_view::npos ? input : input.substr(0, newline);
  const std::string_view sums =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  for (const std::string_view wanted : {name, std::string_view("lavap-v5.3.0-linux-amd64")}) {
    const auto found = visor::find_checksum(sums, wanted);
    if (found) {
      FUZZ_CHECK(is_sha256_hex(found.value()), "find_checksum returned something else");
    } else {
      FUZZ_CHECK(!found.error().empty(), "a failure without a message");
    }
  }
  // The whole input as a URL.
  if (const auto from_url = visor::checksum_from_url(input)) {
    FUZZ_CHECK(is_sha256_hex(*from_url), "checksum_from_url returned something else");
    const std::string stripped = visor::strip_checksum_query(input);
    FUZZ_CHECK(!visor::checksum_from_url(stripped).has_value(),
               "strip_checksum_query left a checksum");
  }
  (void)visor::file_name_of_url(input);
  return 0;
}
