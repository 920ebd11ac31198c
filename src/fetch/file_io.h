// Private to src/fetch: checked write/fsync/rename steps shared by the downloader and unpacker.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "visor/common/result.h"

namespace visor::fetch_detail {

/// Size of every read and write buffer in src/fetch: few syscalls, flat memory.
inline constexpr std::size_t kIoBufferSize = 256 * 1024;

/// Writes all `length` bytes at file offset `offset` (pwrite, retried on EINTR and short
/// writes). On failure `error_number` holds errno and the status says "writing <path>: <cause>".
Status write_all_at(int fd, const void* data, std::size_t length, std::uint64_t offset,
                    const std::string& path, int& error_number);

/// fsync()s the directory holding `path` so that a rename into it survives a power cut.
Status fsync_parent_directory(const std::string& path);

/// fsync(fd), close(fd) and rename `from` -> `to`, then fsync the directory: once this
/// returns ok, `to` is complete on disk. Closes `fd` whatever happens.
Status commit_file(int fd, const std::string& from, const std::string& to);

/// True for write errors that mean "the disk is full" (ENOSPC, EDQUOT, EFBIG): keeping
/// the partial file would only hold the space.
bool is_disk_full(int error_number);

}  // namespace visor::fetch_detail
