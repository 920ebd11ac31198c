// Taking the managed binary out of a downloaded artifact, whatever its packaging.
#pragma once

#include <cstdint>
#include <string>

#include "visor/common/result.h"

namespace visor {

/// Takes the executable named `name` out of `artifact` and writes it to `destination` (a file
/// path), mode 0755, fsynced; it appears there complete or not at all (written to
/// destination + ".tmp", then renamed). Returns the number of bytes written.
/// `artifact` may be a bare binary (copied), a .tar.gz/.tgz/.tar or a .zip, detected by content
/// via libarchive, never by file name. From an archive the entry `name` at its root or under
/// `bin/` is taken, or the same inside ONE top-level folder (e.g. "lavap-v5/bin/lavap"); a
/// "__MACOSX/" folder is ignored. The whole archive is refused before anything is written when
/// any entry has a ".." component, an absolute path, is a device or fifo, or is a symlink or
/// hard link whose target leaves the archive's folder. The total unpacked size (declared sizes
/// of all entries, and the bytes actually produced) is capped by `max_total`, so a zip bomb
/// stops with a clear error. The chosen entry must be a regular file. Never throws.
Result<std::uint64_t> extract_binary(const std::string& artifact, const std::string& name,
                                     const std::string& destination, std::uint64_t max_total);

}  // namespace visor
