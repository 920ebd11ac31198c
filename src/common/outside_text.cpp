#include "visor/common/outside_text.h"

#include <cstdint>
#include <cstdio>

namespace visor {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool continuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

// The length of the well-formed UTF-8 sequence at text[at] (RFC 3629, table 3-7 of the
// Unicode standard: no overlong forms, no surrogates, nothing above U+10FFFF), or 0.
// Hand-written because the same pass also escapes controls and cuts at a character boundary;
// nlohmann's validator is internal, and ICU would convert to UTF-16 and back for it.
std::size_t sequence_length(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t offset) {
    return static_cast<unsigned char>(text[at + offset]);
  };
  const unsigned char lead = byte(0);
  const std::size_t left = text.size() - at;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return left >= 2 && continuation(byte(1)) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (left < 3 || !continuation(byte(2))) return 0;
    const unsigned char second = byte(1);
    const unsigned char low = lead == 0xE0 ? 0xA0 : 0x80;
    const unsigned char high = lead == 0xED ? 0x9F : 0xBF;
    return second >= low && second <= high ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (left < 4 || !continuation(byte(2)) || !continuation(byte(3))) return 0;
    const unsigned char second = byte(1);
    const unsigned char low = lead == 0xF0 ? 0x90 : 0x80;
    const unsigned char high = lead == 0xF4 ? 0x8F : 0xBF;
    return second >= low && second <= high ? 4 : 0;
  }
  return 0;
}

std::uint32_t code_point(std::string_view sequence) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint32_t>(sequence[i]) & 0xFF; };
  switch (sequence.size()) {
    case 1:
      return byte(0);
    case 2:
      return ((byte(0) & 0x1F) << 6) | (byte(1) & 0x3F);
    case 3:
      return ((byte(0) & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
    default:
      return ((byte(0) & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) |
             (byte(3) & 0x3F);
  }
}

// Characters that would break a line, fake a log line or reorder what a reader sees.
bool needs_escape(std::uint32_t point) {
  return point < 0x20 || (point >= 0x7F && point <= 0x9F) || point == 0x2028 || point == 0x2029 ||
         (point >= 0x202A && point <= 0x202E) || (point >= 0x2066 && point <= 0x2069);
}

std::string escape(std::uint32_t point) {
  switch (point) {
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    default:
      break;
  }
  char buffer[12];
  if (point < 0x80) {
    std::snprintf(buffer, sizeof buffer, "\\x%02x", static_cast<unsigned>(point));
  } else {
    std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(point));
  }
  return buffer;
}

}  // namespace

std::string outside_text(std::string_view text, std::size_t max_bytes) {
  std::string excerpt;
  excerpt.reserve(std::min(text.size(), max_bytes) + 8);
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t length = sequence_length(text, at);
    std::string_view piece = kReplacement;
    std::string escaped;
    if (length > 0) {
      piece = text.substr(at, length);
      if (const std::uint32_t point = code_point(piece); needs_escape(point)) {
        escaped = escape(point);
        piece = escaped;
      }
    }
    if (excerpt.size() + piece.size() > max_bytes) break;
    excerpt.append(piece);
    at += length > 0 ? length : 1;
  }
  if (at < text.size()) excerpt += "...(+" + std::to_string(text.size() - at) + " bytes)";
  return excerpt;
}

std::string describe_json(const nlohmann::json& value, std::size_t max_bytes) {
  switch (value.type()) {
    case nlohmann::json::value_t::string:
      return "\"" + outside_text(value.get_ref<const std::string&>(), max_bytes) + "\"";
    case nlohmann::json::value_t::array:
      return "an array of " + std::to_string(value.size()) + " elements";
    case nlohmann::json::value_t::object:
      return "an object of " + std::to_string(value.size()) + " keys";
    case nlohmann::json::value_t::binary:
      return "binary data";
    case nlohmann::json::value_t::discarded:
      return "nothing";
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::boolean:
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      break;
  }
  return value.dump();  // a scalar: no recursion
}

std::optional<nlohmann::json> parse_outside_json(std::string_view body, std::string& error,
                                                 std::size_t max_depth) {
  // nlohmann's parser is iterative; only building the value could be deep. The callback refuses
  // every array or object past `max_depth`, so the value never nests deeper than that.
  bool too_deep = false;
  const nlohmann::json::parser_callback_t refuse_deep =
      [&too_deep, max_depth](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
        if ((event == nlohmann::json::parse_event_t::object_start ||
             event == nlohmann::json::parse_event_t::array_start) &&
            static_cast<std::size_t>(depth) >= max_depth) {
          too_deep = true;
          return false;
        }
        return true;
      };
  // allow_exceptions = false: a parse error yields a "discarded" value instead of throwing.
  nlohmann::json document = nlohmann::json::parse(body.begin(), body.end(), refuse_deep, false);
  if (document.is_discarded()) {
    error = body.empty() ? "empty, expected JSON"
                         : "not JSON (starts with '" + outside_text(body, 80) + "')";
    return std::nullopt;
  }
  if (too_deep) {
    error = "JSON nested deeper than " + std::to_string(max_depth) + " levels (" +
            std::to_string(body.size()) + " bytes, starts with '" + outside_text(body, 40) + "')";
    return std::nullopt;
  }
  return document;
}

std::string dump_json(const nlohmann::json& document, int indent) {
  return document.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace visor
