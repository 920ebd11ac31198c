// Artifact URL templates: {version}, {tag}, {os}, {arch}, {name} (docs/configuration.md).
#pragma once

#include <string>
#include <string_view>

namespace visor {

/// The machine architecture as release file names spell it: "amd64" or "arm64" (also "386",
/// "arm"); anything else uname reports is passed through unchanged.
std::string host_arch();

/// What the placeholders of an artifact template stand for.
struct TemplateValues {
  std::string version;             ///< with or without a leading "v"; both spellings derive from it
  std::string os = "linux";        ///< {os}
  std::string arch = host_arch();  ///< {arch}
  std::string name;                ///< {name}: the managed binary's name, e.g. "lavap"
};

/// Replaces every {version} (without leading v, "5.2.1"), {tag} (with v, "v5.2.1"), {os},
/// {arch} and {name} in `text`. Unknown {words} are left as they are.
std::string expand_url_template(const std::string& text, const TemplateValues& values);

/// `text` with every %XX (two hex digits) replaced by its byte, as a URL's path or query (or
/// Go's url.PathEscape, which Cosmovisor uses for its upgrade folder names) encodes it; a '%'
/// not followed by two hex digits stays as it is.
std::string percent_decode(std::string_view text);

}  // namespace visor
