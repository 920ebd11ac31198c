#include "visor/store/semver.h"

#include <cctype>

namespace visor {
namespace {

bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool is_identifier_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-';
}

// Reads a numeric part without leading zeros (semver forbids them, "0" itself is fine).
bool read_number(std::string_view text, size_t& position, int& value) {
  const size_t start = position;
  while (position < text.size() && is_digit(text[position])) ++position;
  const size_t length = position - start;
  if (length == 0 || length > 9) return false;
  if (length > 1 && text[start] == '0') return false;
  value = std::stoi(std::string(text.substr(start, length)));
  return true;
}

// Reads dot-separated identifiers ([0-9A-Za-z-]+); stops at the first character outside them.
bool read_identifiers(std::string_view text, size_t& position, std::string& out) {
  const size_t start = position;
  while (true) {
    const size_t part_start = position;
    while (position < text.size() && is_identifier_char(text[position])) ++position;
    if (position == part_start) return false;
    if (position < text.size() && text[position] == '.' && position + 1 < text.size() &&
        is_identifier_char(text[position + 1])) {
      ++position;
      continue;
    }
    break;
  }
  out = std::string(text.substr(start, position - start));
  return true;
}

// Parses a version starting at `position`; on success `position` is just past it.
bool parse_at(std::string_view text, size_t& position, int& major, int& minor, int& patch,
              std::string& prerelease) {
  if (position < text.size() && (text[position] == 'v' || text[position] == 'V')) ++position;
  if (!read_number(text, position, major)) return false;
  if (position >= text.size() || text[position] != '.') return false;
  ++position;
  if (!read_number(text, position, minor)) return false;
  if (position >= text.size() || text[position] != '.') return false;
  ++position;
  if (!read_number(text, position, patch)) return false;
  prerelease.clear();
  if (position + 1 < text.size() && text[position] == '-' &&
      is_identifier_char(text[position + 1])) {
    size_t after = position + 1;
    std::string identifiers;
    if (read_identifiers(text, after, identifiers)) {
      prerelease = identifiers;
      position = after;
    }
  }
  if (position + 1 < text.size() && text[position] == '+' &&
      is_identifier_char(text[position + 1])) {
    size_t after = position + 1;
    std::string build;
    if (read_identifiers(text, after, build)) position = after;
  }
  return true;
}

int compare_identifiers(const std::string& left, const std::string& right) {
  const bool left_numeric =
      !left.empty() && left.find_first_not_of("0123456789") == std::string::npos;
  const bool right_numeric =
      !right.empty() && right.find_first_not_of("0123456789") == std::string::npos;
  if (left_numeric && right_numeric) {
    if (left.size() != right.size()) return left.size() < right.size() ? -1 : 1;
    return left < right ? -1 : (left > right ? 1 : 0);
  }
  if (left_numeric != right_numeric) return left_numeric ? -1 : 1;
  return left < right ? -1 : (left > right ? 1 : 0);
}

std::vector<std::string> split_dots(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = text.find('.', start);
    parts.push_back(text.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

}  // namespace

std::optional<SemVer> SemVer::parse(std::string_view text) {
  SemVer version;
  size_t position = 0;
  if (!parse_at(text, position, version.major_, version.minor_, version.patch_,
                version.prerelease_)) {
    return std::nullopt;
  }
  if (position != text.size()) return std::nullopt;
  return version;
}

std::optional<SemVer> SemVer::find_in(std::string_view text) {
  for (size_t start = 0; start < text.size(); ++start) {
    if (!is_digit(text[start])) continue;
    // A version starts at a number that is not the tail of a longer token (e.g. "x10.2.3").
    if (start > 0 && (is_digit(text[start - 1]) || text[start - 1] == '.')) continue;
    SemVer version;
    size_t position = start;
    if (parse_at(text, position, version.major_, version.minor_, version.patch_,
                 version.prerelease_)) {
      // Not part of a longer dotted number such as 1.2.3.4.
      if (position < text.size() && text[position] == '.' && position + 1 < text.size() &&
          is_digit(text[position + 1])) {
        continue;
      }
      return version;
    }
  }
  return std::nullopt;
}

std::string SemVer::str() const {
  std::string text =
      std::to_string(major_) + "." + std::to_string(minor_) + "." + std::to_string(patch_);
  if (!prerelease_.empty()) text += "-" + prerelease_;
  return text;
}

int SemVer::compare(const SemVer& other) const {
  if (major_ != other.major_) return major_ < other.major_ ? -1 : 1;
  if (minor_ != other.minor_) return minor_ < other.minor_ ? -1 : 1;
  if (patch_ != other.patch_) return patch_ < other.patch_ ? -1 : 1;
  if (prerelease_ == other.prerelease_) return 0;
  if (prerelease_.empty()) return 1;  // a release ranks above its pre-releases
  if (other.prerelease_.empty()) return -1;
  const auto left = split_dots(prerelease_);
  const auto right = split_dots(other.prerelease_);
  for (size_t i = 0; i < left.size() && i < right.size(); ++i) {
    const int order = compare_identifiers(left[i], right[i]);
    if (order != 0) return order;
  }
  if (left.size() == right.size()) return 0;
  return left.size() < right.size() ? -1 : 1;
}

std::optional<std::string> normalize_version(std::string_view text) {
  auto version = SemVer::parse(text);
  if (!version) return std::nullopt;
  return version->str();
}

}  // namespace visor
