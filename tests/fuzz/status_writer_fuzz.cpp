// Fuzzes the path outside text takes to what visor writes: a reply body (or any part of it) ->
// the source parsers' error messages -> outside_text() -> a log line (text and JSON), status.json
// (dump_json) and state.json (render_state). Whatever the bytes, every output is valid UTF-8,
// one line where it must be, bounded, and reads back as JSON where it is JSON; nothing throws
// and nothing recurses per level of the input's nesting.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_check.h"
#include "visor/common/log.h"
#include "visor/common/outside_text.h"
#include "visor/sources/lava_params.h"
#include "visor/sources/upgrade_info.h"
#include "visor/sources/vega_status.h"
#include "visor/store/state_file.h"

namespace {

// Well-formed UTF-8, checked independently of outside_text's own decoder.
bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const int length = lead < 0x80           ? 1
                       : (lead >> 5) == 0x06 ? 2
                       : (lead >> 4) == 0x0E ? 3
                       : (lead >> 3) == 0x1E ? 4
                                             : 0;
    if (length == 0 || i + static_cast<std::size_t>(length) > text.size()) return false;
    unsigned point = length == 1 ? lead : lead & (0x7Fu >> length);
    for (int k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
      if ((next & 0xC0) != 0x80) return false;
      point = (point << 6) | (next & 0x3Fu);
    }
    const unsigned minimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (point < minimum[length] || point > 0x10FFFF || (point >= 0xD800 && point <= 0xDFFF))
      return false;
    i += static_cast<std::size_t>(length);
  }
  return true;
}

void check_line(const std::string& line, std::size_t bound) {
  FUZZ_CHECK(valid_utf8(line), "a line that is not UTF-8");
  FUZZ_CHECK(line.find('\n') == std::string::npos, "a line with a line break");
  FUZZ_CHECK(line.find('\r') == std::string::npos, "a line with a carriage return");
  FUZZ_CHECK(line.size() <= bound, "a line beyond its bound");
}

// One error message as visor would log it and keep it in status.json.
void write_everywhere(const std::string& message) {
  constexpr std::size_t kLineBound = 3 * visor::log::kMaxMessageBytes;
  for (const auto format : {visor::log::Format::text, visor::log::Format::json}) {
    const std::string line =
        visor::log::render(format, visor::log::Level::warn, "source_error", message,
                           {{"source", message}, {"version", "5.2.1"}}, "2026-01-01T00:00:00Z");
    check_line(line, kLineBound);
    if (format == visor::log::Format::json) {
      const auto parsed = nlohmann::json::parse(line, nullptr, false);
      FUZZ_CHECK(!parsed.is_discarded() && parsed.is_object(), "a JSON log line that is not JSON");
    }
  }
  const nlohmann::json status = {
      {"state", "running"},
      {"last_error", visor::outside_text(message, visor::log::kMaxMessageBytes)}};
  const std::string written = visor::dump_json(status, 2);
  FUZZ_CHECK(valid_utf8(written), "status.json that is not UTF-8");
  FUZZ_CHECK(!nlohmann::json::parse(written, nullptr, false).is_discarded(),
             "status.json that does not read back");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  for (const std::size_t bound : {std::size_t{0}, std::size_t{3}, visor::kExcerptBytes}) {
    const std::string excerpt = visor::outside_text(input, bound);
    check_line(excerpt, bound + visor::kExcerptMarkerBytes);
  }

  // Raw bytes reach a message directly (an error that quotes them whole) ...
  write_everywhere(std::string(input));
  // ... and through every source parser's error.
  if (auto lava = visor::parse_lava_params(input, visor::LavaRole::provider); !lava)
    write_everywhere(lava.error());
  if (auto vega = visor::parse_vega_reply(input, 1); !vega) write_everywhere(vega.error());
  if (auto plan = visor::parse_upgrade_info(input); !plan) {
    write_everywhere(plan.error());
  } else {
    write_everywhere(plan->name);
    write_everywhere(plan->info);
  }

  std::string error;
  if (const auto document = visor::parse_outside_json(input, error)) {
    write_everywhere(visor::describe_json(*document));
    if (document->is_object() || document->is_array()) {
      for (const auto& item : *document) write_everywhere(visor::describe_json(item));
    }
  } else {
    write_everywhere(error);
  }

  // state.json keeps reasons and plan names that may quote outside text; it always reads back.
  visor::StoreState state;
  state.failed["5.3.0"] = std::string(input);
  state.plans[std::string(input.substr(0, 64))] = "5.3.0";
  const std::string rendered = visor::render_state(state);
  FUZZ_CHECK(valid_utf8(rendered), "state.json that is not UTF-8");
  FUZZ_CHECK(visor::parse_state(rendered).ok(), "state.json that does not read back");
  return 0;
}
