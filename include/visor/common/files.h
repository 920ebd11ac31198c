// Crash-safe file operations: nothing ever reads a half-written file (s6's pattern).
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "visor/common/result.h"

namespace visor {

/// Writes `content` to a temporary file beside `path`, fsyncs it, renames it over `path` and
/// fsyncs the directory. After a crash at any moment `path` holds the old or the new content.
Status write_file_atomic(const std::string& path, const std::string& content, int mode = 0644);

/// Writes `content` to a temporary file beside `path` and renames it over `path`, without
/// fsync: readers see the old or the new content, never a mix, but after a power cut the file
/// may be old or empty. For snapshots rewritten often and rebuilt at start (status.json), where
/// an fsync on a disk busy with a node's database could stall the event loop for a long time.
Status replace_file(const std::string& path, const std::string& content, int mode = 0644);

/// fsync() of a directory, so that a rename or a new entry in it survives a power loss.
Status fsync_directory(const std::string& directory);

/// Copies `from` to `to` (which must not exist), fsyncs it and sets `mode`.
Status copy_file_synced(const std::string& from, const std::string& to, int mode);

/// Replaces (or creates) the symlink `link` so that it points at `target`: a temporary link
/// beside it is renamed over it, then the directory is fsynced.
Status replace_symlink(const std::string& target, const std::string& link);

/// Reads `path` from start to end in chunks of at most `chunk_size` bytes, handing each to
/// `consume`; a non-empty text returned by `consume` stops the reading and becomes the error
/// (after "reading <path>: "). Errors name the path and the cause.
Status read_chunks(const std::string& path, std::size_t chunk_size,
                   const std::function<std::string(const char* data, std::size_t length)>& consume);

/// Reads a whole file of at most `max_bytes`.
Result<std::string> read_small_file(const std::string& path, std::size_t max_bytes = 1 << 20);

}  // namespace visor
