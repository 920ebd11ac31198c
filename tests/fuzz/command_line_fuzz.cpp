// Fuzzes split_command_line, and checks that quoting gives every word back unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "visor/common/command_line.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto words = visor::split_command_line(text);
  if (!words) {
    FUZZ_CHECK(!words.error().empty(), "a failure without a message");
    return 0;
  }
  // join(split(x)) splits into the same words, and every word survives quote_word.
  const std::string joined = visor::join_command_line(words.value());
  const auto again = visor::split_command_line(joined);
  FUZZ_CHECK(again.ok(), "join_command_line produced a line split_command_line refuses");
  FUZZ_CHECK(again.value() == words.value(), "split(join(words)) != words");
  for (const auto& word : words.value()) {
    const auto single = visor::split_command_line(visor::quote_word(word));
    FUZZ_CHECK(single.ok() && single->size() == 1 && single->front() == word,
               "quote_word does not round-trip");
  }
  return 0;
}
