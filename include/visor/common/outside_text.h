// Outside text is data. Every excerpt of text that visor did not write itself (a reply body, a
// field of a reply, a file, an error message that quotes one) passes through outside_text()
// before it reaches a log line, status.json, `visor status`, /healthz or a metrics label: the
// result is valid UTF-8, one line, and bounded. An outside JSON value is described, never
// re-serialised (dump() recurses once per nesting level), and outside JSON is parsed with a
// depth limit, so a reply nested 150,000 deep is one clear error instead of a stack overflow.
// (Destroying a nested value is not recursive in nlohmann/json 3.10 and later; Debian 12 ships
// 3.11.2.)
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace visor {

/// The default length of an excerpt, in bytes of its UTF-8 text.
inline constexpr std::size_t kExcerptBytes = 200;
/// The most outside_text() adds beyond `max_bytes`: the marker that says how much was cut.
inline constexpr std::size_t kExcerptMarkerBytes = 32;
/// How deep outside JSON may nest (arrays and objects); real replies use fewer than ten levels.
inline constexpr std::size_t kMaxJsonDepth = 64;

/// A bounded, single-line, valid UTF-8 excerpt of `text`: invalid UTF-8 bytes become U+FFFD,
/// control characters (C0, DEL, C1), line and paragraph separators and bidirectional overrides
/// are written as escapes (\n, \x07, \u202e), and text beyond `max_bytes` is cut at a character
/// boundary and replaced by a marker "...(+N bytes)". The result is at most
/// `max_bytes + kExcerptMarkerBytes` bytes long.
std::string outside_text(std::string_view text, std::size_t max_bytes = kExcerptBytes);

/// Describes an outside JSON value without re-serialising it: a string as its quoted excerpt,
/// a number, true, false or null as written, an array or object by its type and size
/// ("an array of 3 elements"). Constant stack depth, whatever the nesting of `value`.
std::string describe_json(const nlohmann::json& value, std::size_t max_bytes = kExcerptBytes);

/// Parses outside JSON without throwing and without recursion deeper than `max_depth` levels
/// of arrays and objects; nullopt and a one-line `error` ("not JSON (starts with '...')",
/// "nested deeper than 64 levels") otherwise.
std::optional<nlohmann::json> parse_outside_json(std::string_view body, std::string& error,
                                                 std::size_t max_depth = kMaxJsonDepth);

/// Serialises a JSON document that visor writes (status.json, `status --json`, log lines):
/// invalid UTF-8 in any string becomes U+FFFD instead of an exception.
std::string dump_json(const nlohmann::json& document, int indent = -1);

}  // namespace visor
