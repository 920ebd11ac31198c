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

/// Creates the directory `path` (its parent must exist) or accepts it when it is already a
/// real directory; a symlink, a file or anything else in its place is refused, so that nothing
/// visor writes into it can be sent elsewhere by a link planted in the home.
Status make_real_directory(const std::string& path, int mode = 0755);

/// Copies `from` to `to` (which must not exist), fsyncs it and sets `mode`.
Status copy_file_synced(const std::string& from, const std::string& to, int mode);

/// Replaces (or creates) the symlink `link` so that it points at `target`: a temporary link
/// beside it is renamed over it, then the directory is fsynced.
Status replace_symlink(const std::string& target, const std::string& link);

/// Opens `path` the way visor opens every file it reads: with O_NONBLOCK, so that a FIFO (or a
/// device) put in its place never hangs open() or read(), then fstat(): anything but a regular
/// file is an error ("... is not a regular file (a FIFO)"). `flags` adds to O_CLOEXEC|O_NOCTTY
/// (O_RDONLY by default; O_RDWR|O_CREAT with `mode` for a lock file). Returns the descriptor,
/// which the caller closes; `missing`, when given, is set when the file does not exist.
Result<int> open_regular_file(const std::string& path, int flags = 0, int mode = 0644,
                              bool* missing = nullptr);

/// Reads `path` from start to end in chunks of at most `chunk_size` bytes, handing each to
/// `consume` (the file is opened by open_regular_file); a non-empty text returned by `consume`
/// stops the reading and becomes the error (after "reading <path>: "). Errors name the path and the
/// cause.
Status read_chunks(const std::string& path, std::size_t chunk_size,
                   const std::function<std::string(const char* data, std::size_t length)>& consume);

/// Reads a whole regular file of at most `max_bytes` (opened by open_regular_file; larger is an
/// error, also when it grows while being read). `missing` as for open_regular_file.
Result<std::string> read_small_file(const std::string& path, std::size_t max_bytes = 1 << 20,
                                    bool* missing = nullptr);

}  // namespace visor
