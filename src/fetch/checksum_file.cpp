#include "visor/fetch/checksum_file.h"

#include <cctype>
#include <string>
#include <vector>

#include "visor/common/sha256.h"
#include "visor/fetch/url_template.h"

namespace visor {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

std::string to_lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

std::string_view base_name(std::string_view path) {
  const std::size_t slash = path.find_last_of('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

struct Entry {
  std::string hash;  // as written; validated by the caller
  std::string name;
};

// "<hex>  <name>", "<hex> *<name>", or BSD "SHA256 (<name>) = <hex>".
std::optional<Entry> parse_line(std::string_view line) {
  if (line.rfind("SHA256 (", 0) == 0) {
    const std::size_t close = line.rfind(") = ");
    if (close == std::string_view::npos || close < 8) return std::nullopt;
    return Entry{std::string(trim(line.substr(close + 4))), std::string(line.substr(8, close - 8))};
  }
  const std::size_t space = line.find_first_of(" \t");
  if (space == std::string_view::npos) return std::nullopt;
  std::string_view name = trim(line.substr(space));
  if (!name.empty() && name.front() == '*') name.remove_prefix(1);
  if (name.empty()) return std::nullopt;
  return Entry{std::string(line.substr(0, space)), std::string(name)};
}

// The query of a URL as [begin, end) offsets, without '?' and without the fragment.
bool query_bounds(std::string_view url, std::size_t& begin, std::size_t& end) {
  const std::size_t fragment = url.find('#');
  const std::size_t question = url.find('?');
  if (question == std::string_view::npos || question > fragment) return false;
  begin = question + 1;
  end = fragment == std::string_view::npos ? url.size() : fragment;
  return true;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t at = text.find(separator, start);
    parts.push_back(text.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

bool is_checksum_parameter(std::string_view parameter) {
  return parameter.rfind("checksum=", 0) == 0;
}

}  // namespace

Result<std::string> find_checksum(std::string_view sums_text, std::string_view file_name) {
  const std::string_view wanted = base_name(file_name);
  std::optional<std::string> found;
  std::vector<std::string> listed;
  std::vector<std::string_view> meaningful_lines;
  int line_number = 0;
  for (std::string_view raw : split(sums_text, '\n')) {
    ++line_number;
    const std::string_view line = trim(raw);  // also drops the '\r' of CRLF files
    if (line.empty() || line.front() == '#') continue;
    meaningful_lines.push_back(line);
    const std::optional<Entry> entry = parse_line(line);
    if (!entry) continue;
    if (entry->name != wanted && base_name(entry->name) != wanted) {
      if (listed.size() < 6) listed.push_back(entry->name);
      continue;
    }
    if (!is_sha256_hex(entry->hash)) {
      return Result<std::string>::failure("malformed checksum for " + std::string(wanted) +
                                          " on line " + std::to_string(line_number) + ": \"" +
                                          entry->hash + "\" is not 64 hex digits");
    }
    const std::string hash = to_lower(entry->hash);
    if (found && *found != hash) {
      return Result<std::string>::failure("checksum file lists " + std::string(wanted) +
                                          " twice with different hashes");
    }
    found = hash;
  }
  if (found) return *found;
  // A "<file>.sha256" companion often holds just the hash.
  if (meaningful_lines.size() == 1 && is_sha256_hex(std::string(meaningful_lines[0]))) {
    return to_lower(meaningful_lines[0]);
  }
  if (meaningful_lines.empty()) {
    return Result<std::string>::failure("checksum file is empty, no entry for " +
                                        std::string(wanted));
  }
  std::string message = "no checksum for " + std::string(wanted) + " in checksum file";
  if (listed.empty()) {
    message += " (no line has the form \"<sha256>  <file name>\")";
  } else {
    message += " (it lists ";
    for (std::size_t i = 0; i < listed.size() && i < 5; ++i) {
      message += (i == 0 ? "" : ", ") + listed[i];
    }
    message += listed.size() > 5 ? ", ...)" : ")";
  }
  return Result<std::string>::failure(message);
}

std::optional<std::string> checksum_from_url(std::string_view url) {
  std::size_t begin = 0;
  std::size_t end = 0;
  if (!query_bounds(url, begin, end)) return std::nullopt;
  for (std::string_view parameter : split(url.substr(begin, end - begin), '&')) {
    if (!is_checksum_parameter(parameter)) continue;
    std::string value = percent_decode(parameter.substr(9));
    const std::string lowered = to_lower(value);
    if (lowered.rfind("sha256:", 0) == 0) value = value.substr(7);
    if (is_sha256_hex(value)) return to_lower(value);
    return std::nullopt;
  }
  return std::nullopt;
}

std::string strip_checksum_query(std::string_view url) {
  std::size_t begin = 0;
  std::size_t end = 0;
  if (!query_bounds(url, begin, end)) return std::string(url);
  std::string kept;
  for (std::string_view parameter : split(url.substr(begin, end - begin), '&')) {
    if (parameter.empty() || is_checksum_parameter(parameter)) continue;
    if (!kept.empty()) kept += '&';
    kept += parameter;
  }
  std::string out(url.substr(0, begin - 1));
  if (!kept.empty()) out += "?" + kept;
  out += url.substr(end);
  return out;
}

std::string file_name_of_url(std::string_view url) {
  const std::size_t cut = url.find_first_of("?#");
  std::string_view path = url.substr(0, cut);
  const std::size_t scheme = path.find("://");
  if (scheme != std::string_view::npos) {
    const std::size_t path_start = path.find('/', scheme + 3);
    path = path_start == std::string_view::npos ? std::string_view() : path.substr(path_start);
  }
  return percent_decode(base_name(path));
}

}  // namespace visor
