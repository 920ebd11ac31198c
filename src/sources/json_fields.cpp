#include "visor/sources/json_fields.h"

#include "visor/common/outside_text.h"

#include <limits>

namespace visor {

std::optional<nlohmann::json> parse_json(std::string_view body, std::string& error) {
  return parse_outside_json(body, error);
}

std::optional<std::uint64_t> json_unsigned(const nlohmann::json& value) {
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (value.is_number_integer()) {  // signed: only a non-negative one will do
    const auto number = value.get<std::int64_t>();
    if (number < 0) return std::nullopt;
    return static_cast<std::uint64_t>(number);
  }
  if (!value.is_string()) return std::nullopt;
  const auto& text = value.get_ref<const std::string&>();
  if (text.empty() || text.size() > 20 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  std::uint64_t number = 0;
  for (const char digit : text) {
    const std::uint64_t add = static_cast<std::uint64_t>(digit - '0');
    if (number > (std::numeric_limits<std::uint64_t>::max() - add) / 10) return std::nullopt;
    number = number * 10 + add;
  }
  return number;
}

}  // namespace visor
