// Small helpers the source parsers share for reading untrusted JSON replies.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace visor {

/// Parses a reply body as JSON without throwing and with a depth limit (parse_outside_json in
/// visor/common/outside_text.h); nullopt and a one-line `error` otherwise.
std::optional<nlohmann::json> parse_json(std::string_view body, std::string& error);

/// A non-negative whole number given as a JSON number or a decimal string (Cosmos and Go
/// encoders use both for 64-bit values); nullopt for anything else, including negative
/// numbers, fractions and values beyond 2^64-1.
std::optional<std::uint64_t> json_unsigned(const nlohmann::json& value);

}  // namespace visor
