#include "visor/upgrade/scheduled_halt.h"

#include <charconv>
#include <string_view>

namespace visor {

namespace {

std::optional<std::uint64_t> block_height(std::string_view text) {
  std::uint64_t height = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), height);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return height;
}

}  // namespace

std::optional<std::uint64_t> halt_height_argument(const std::vector<std::string>& argv) {
  constexpr std::string_view kFlag = "--halt-height";
  std::optional<std::uint64_t> found;
  for (std::size_t index = 1; index < argv.size(); ++index) {
    const std::string_view word = argv[index];
    if (word == kFlag && index + 1 < argv.size()) {
      found = block_height(argv[++index]);
    } else if (word.size() > kFlag.size() && word.compare(0, kFlag.size(), kFlag) == 0 &&
               word[kFlag.size()] == '=') {
      found = block_height(word.substr(kFlag.size() + 1));
    }
  }
  return found;
}

std::optional<std::uint64_t> scheduled_halt(const std::vector<std::uint64_t>& scheduled,
                                            const ChildExit& exit) {
  std::optional<std::uint64_t> halt;
  for (const std::uint64_t height : scheduled) {
    const bool reached = exit.chain_height && (height == 0 || *exit.chain_height >= height - 1);
    const bool halted_itself = exit.clean && exit.halt_height == height;
    if ((reached || halted_itself) && (!halt || height > *halt)) halt = height;
  }
  return halt;
}

}  // namespace visor
