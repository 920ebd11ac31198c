// Private to src/fetch: which archive entry names are safe, and which one holds the binary.
#pragma once

#include <optional>
#include <string>

namespace visor::fetch_detail {

/// `path` without leading "./" parts, repeated or trailing slashes: "./a//b/" -> "a/b".
std::string normalize_entry_path(const std::string& path);

/// Why `path` may not appear in an archive (absolute, empty, has a ".." component), or nullopt
/// when it is fine.
std::optional<std::string> unsafe_path_reason(const std::string& path);

/// True when the symlink at `link_path` (relative to the archive root) pointing at `target`
/// resolves outside the archive's folder; absolute targets always do.
bool symlink_escapes(const std::string& link_path, const std::string& target);

/// How well a (normalized) entry path matches binary `name`: 0 for "name", 1 for "bin/name",
/// 2 for "<top>/name", 3 for "<top>/bin/name"; nullopt otherwise. Ranks 2 and 3 only count
/// when the archive has a single top-level folder, which the caller checks.
std::optional<int> match_rank(const std::string& path, const std::string& name);

/// The first component of a normalized path ("a/b/c" -> "a").
std::string top_level_of(const std::string& path);

}  // namespace visor::fetch_detail
