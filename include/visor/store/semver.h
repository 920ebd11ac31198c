// Semantic versions as blockchain releases use them: "5.2.1", "v0.79.0", "1.0.0-rc.1".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace visor {

/// A semantic version (semver.org 2.0): MAJOR.MINOR.PATCH[-prerelease][+build].
/// Build metadata is kept for display but ignored by comparisons.
class SemVer {
 public:
  /// Parses exactly one version; a leading "v" is accepted. nullopt for anything else.
  static std::optional<SemVer> parse(std::string_view text);
  /// Finds the first X.Y.Z[-pre] in free text (e.g. `{"version":"v0.79.0","hash":"..."}`).
  static std::optional<SemVer> find_in(std::string_view text);

  int major() const { return major_; }
  int minor() const { return minor_; }
  int patch() const { return patch_; }
  const std::string& prerelease() const { return prerelease_; }
  /// "5.2.1" or "1.0.0-rc.1": no leading v, no build metadata.
  std::string str() const;
  /// With a leading v: "v5.2.1".
  std::string tag() const { return "v" + str(); }

  /// Semver precedence: -1, 0, 1.
  int compare(const SemVer& other) const;
  bool operator<(const SemVer& other) const { return compare(other) < 0; }
  bool operator>(const SemVer& other) const { return compare(other) > 0; }
  bool operator<=(const SemVer& other) const { return compare(other) <= 0; }
  bool operator>=(const SemVer& other) const { return compare(other) >= 0; }
  bool operator==(const SemVer& other) const { return compare(other) == 0; }
  bool operator!=(const SemVer& other) const { return compare(other) != 0; }

 private:
  int major_ = 0;
  int minor_ = 0;
  int patch_ = 0;
  std::string prerelease_;
};

/// Normalises a version string for the store: parses it and returns str() (no leading v);
/// nullopt when it is not a version.
std::optional<std::string> normalize_version(std::string_view text);

}  // namespace visor
