#include "archive_rules.h"

#include <vector>

namespace visor::fetch_detail {
namespace {

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t slash = path.find('/', start);
    const std::size_t end = slash == std::string::npos ? path.size() : slash;
    if (end > start) parts.push_back(path.substr(start, end - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return parts;
}

}  // namespace

std::string normalize_entry_path(const std::string& path) {
  std::string normal;
  for (const std::string& part : components(path)) {
    if (part == ".") continue;
    if (!normal.empty()) normal += '/';
    normal += part;
  }
  return normal;
}

std::optional<std::string> unsafe_path_reason(const std::string& path) {
  if (path.empty()) return "has an empty name";
  if (path.front() == '/') return "has an absolute path";
  for (const std::string& part : components(path)) {
    if (part == "..") return "has a \"..\" component";
  }
  return std::nullopt;
}

bool symlink_escapes(const std::string& link_path, const std::string& target) {
  if (target.empty() || target.front() == '/') return true;
  std::vector<std::string> resolved = components(normalize_entry_path(link_path));
  if (!resolved.empty()) resolved.pop_back();  // relative to the folder holding the link
  for (const std::string& part : components(target)) {
    if (part == ".") continue;
    if (part == "..") {
      if (resolved.empty()) return true;
      resolved.pop_back();
    } else {
      resolved.push_back(part);
    }
  }
  return false;
}

std::optional<int> match_rank(const std::string& path, const std::string& name) {
  const std::vector<std::string> parts = components(path);
  if (parts.empty() || parts.back() != name) return std::nullopt;
  if (parts.size() == 1) return 0;
  if (parts.size() == 2) return parts[0] == "bin" ? std::optional<int>(1) : std::optional<int>(2);
  if (parts.size() == 3 && parts[1] == "bin") return 3;
  return std::nullopt;
}

std::string top_level_of(const std::string& path) { return path.substr(0, path.find('/')); }

}  // namespace visor::fetch_detail
