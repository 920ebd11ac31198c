#include "visor/fetch/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "archive_rules.h"
#include "file_io.h"
#include "visor/common/files.h"

namespace visor {
namespace {

using fetch_detail::kIoBufferSize;

// libarchive's errno for "Unrecognized archive format" (kUnrecognizedFormat lives in its
// private header; on Linux it is EILSEQ, as there is no EFTYPE).
constexpr int kUnrecognizedFormat = EILSEQ;

struct ArchiveDeleter {
  void operator()(archive* handle) const { archive_read_free(handle); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

/// What reading the first header told us about the artifact.
enum class Kind { archive, bare_binary };

std::string archive_error(archive* handle) {
  const char* text = archive_error_string(handle);
  return text != nullptr ? text : "unknown libarchive error";
}

std::string limit_error(const std::string& artifact, std::uint64_t max_total) {
  return "unpacking " + artifact + ": unpacked size exceeds the limit of " +
         std::to_string(max_total) + " bytes (refusing a possible archive bomb)";
}

/// Set by open_archive when libarchive recognises neither tar nor zip in the artifact.
struct Unrecognized {
  bool compressed = false;  ///< a compression filter (gzip, xz, ...) was found all the same
  std::string filter_name;  ///< e.g. "gzip"
};

/// Opens `artifact` for reading as tar (any compression) or zip. libarchive detects the format
/// while opening; when it finds none, `unrecognized` (if given) says whether it was compressed.
Result<ArchivePtr> open_archive(const std::string& artifact,
                                std::optional<Unrecognized>* unrecognized = nullptr) {
  ArchivePtr handle(archive_read_new());
  if (!handle) return Result<ArchivePtr>::failure("unpacking " + artifact + ": out of memory");
  archive_read_support_filter_all(handle.get());
  archive_read_support_format_tar(handle.get());
  archive_read_support_format_zip(handle.get());
  if (archive_read_open_filename(handle.get(), artifact.c_str(), kIoBufferSize) != ARCHIVE_OK) {
    if (unrecognized != nullptr && archive_errno(handle.get()) == kUnrecognizedFormat) {
      Unrecognized what;
      what.compressed = archive_filter_code(handle.get(), 0) != ARCHIVE_FILTER_NONE;
      const char* name = archive_filter_name(handle.get(), 0);
      what.filter_name = name != nullptr ? name : "an unknown filter";
      *unrecognized = what;
    }
    return Result<ArchivePtr>::failure("opening " + artifact + ": " + archive_error(handle.get()));
  }
  return handle;
}

/// Reads the next header; nullopt at the end. ARCHIVE_WARN (e.g. odd metadata) is not fatal.
Result<std::optional<archive_entry*>> next_entry(archive* handle, const std::string& artifact) {
  archive_entry* entry = nullptr;
  int code = ARCHIVE_RETRY;
  while (code == ARCHIVE_RETRY) code = archive_read_next_header(handle, &entry);
  if (code == ARCHIVE_EOF) return std::optional<archive_entry*>();
  if (code < ARCHIVE_WARN) {
    return Result<std::optional<archive_entry*>>::failure("reading archive " + artifact + ": " +
                                                          archive_error(handle));
  }
  return std::optional<archive_entry*>(entry);
}

/// One pass over every header: refuses unsafe archives and picks the entry holding `name`.
struct Scan {
  Kind kind = Kind::archive;
  long chosen_index = -1;
  std::string chosen_path;
};

Result<Scan> scan_archive(const std::string& artifact, const std::string& name,
                          std::uint64_t max_total) {
  Scan scan;
  std::optional<Unrecognized> unrecognized;
  Result<ArchivePtr> opened = open_archive(artifact, &unrecognized);
  if (!opened && unrecognized && !unrecognized->compressed) {
    scan.kind = Kind::bare_binary;  // not a tar or zip, and not compressed either
    return scan;
  }
  if (!opened && unrecognized) {
    return Result<Scan>::failure("unpacking " + artifact + ": compressed with " +
                                 unrecognized->filter_name + " but holds no tar or zip archive");
  }
  if (!opened) return Status::failure(opened.error());
  archive* handle = opened->get();
  std::uint64_t declared_total = 0;
  std::set<std::string> top_levels;
  std::vector<std::string> files;  // for the "not found" message
  struct Candidate {
    long index;
    std::string path;
    int rank;
    mode_t type;
    bool hard_link;
  };
  std::vector<Candidate> candidates;

  for (long index = 0;; ++index) {
    Result<std::optional<archive_entry*>> next = next_entry(handle, artifact);
    if (!next) return Status::failure(next.error());
    if (!*next) break;
    archive_entry* entry = **next;
    const char* raw_path = archive_entry_pathname(entry);
    const std::string original = raw_path != nullptr ? raw_path : "";
    const auto refuse = [&](const std::string& why) {
      return Result<Scan>::failure("refusing archive " + artifact + ": entry \"" + original +
                                   "\" " + why);
    };
    if (std::optional<std::string> why = fetch_detail::unsafe_path_reason(original)) {
      return refuse(*why);
    }
    const std::string path = fetch_detail::normalize_entry_path(original);
    const mode_t type = archive_entry_filetype(entry);
    const char* hard_link = archive_entry_hardlink(entry);
    if (hard_link != nullptr) {
      const std::string target(hard_link);
      if (fetch_detail::unsafe_path_reason(target)) {
        return refuse("is a hard link to \"" + target + "\" outside the archive");
      }
    } else if (type == AE_IFLNK) {
      const char* link = archive_entry_symlink(entry);
      const std::string target = link != nullptr ? link : "";
      if (fetch_detail::symlink_escapes(path, target)) {
        return refuse("is a symbolic link to \"" + target + "\" outside the archive");
      }
    } else if (type != AE_IFREG && type != AE_IFDIR) {
      return refuse("is a device, fifo or socket");
    }
    if (archive_entry_size_is_set(entry) && archive_entry_size(entry) > 0) {
      declared_total += static_cast<std::uint64_t>(archive_entry_size(entry));
      if (declared_total > max_total)
        return Result<Scan>::failure(limit_error(artifact, max_total));
    }
    if (path.empty()) continue;  // "./" itself
    const std::string top = fetch_detail::top_level_of(path);
    if (top == "__MACOSX") continue;  // resource forks added by macOS zip tools
    top_levels.insert(top);
    if (type == AE_IFREG && hard_link == nullptr && files.size() < 9) files.push_back(path);
    if (std::optional<int> rank = fetch_detail::match_rank(path, name)) {
      candidates.push_back({index, path, *rank, type, hard_link != nullptr});
    }
    if (archive_read_data_skip(handle) != ARCHIVE_OK) {
      return Result<Scan>::failure("reading archive " + artifact + ": " + archive_error(handle));
    }
  }

  const bool one_top_folder = top_levels.size() == 1;
  const Candidate* best = nullptr;
  for (const Candidate& candidate : candidates) {
    if (candidate.rank >= 2 && !one_top_folder) continue;
    if (best == nullptr || candidate.rank <= best->rank)
      best = &candidate;  // later wins, as in tar
  }
  if (best == nullptr) {
    std::string listing;
    for (std::size_t i = 0; i < files.size() && i < 8; ++i) listing += (i ? ", " : "") + files[i];
    if (files.size() > 8) listing += ", ...";
    return Result<Scan>::failure(
        "no file named " + name + " in archive " + artifact +
        " (looked at its root, bin/, and inside a single top-level folder; it holds " +
        (listing.empty() ? std::string("no files") : listing) + ")");
  }
  if (best->hard_link || best->type != AE_IFREG) {
    return Result<Scan>::failure("unpacking " + artifact + ": entry \"" + best->path +
                                 "\" is not a regular file");
  }
  scan.chosen_index = best->index;
  scan.chosen_path = best->path;
  return scan;
}

/// Creates destination + ".tmp" for writing, mode 0755 whatever the umask.
Result<int> create_temporary(const std::string& temporary) {
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  if (fd < 0) return Result<int>::failure("creating " + temporary + ": " + errno_text(errno));
  if (::fchmod(fd, 0755) != 0) {
    const int error = errno;
    ::close(fd);
    ::unlink(temporary.c_str());
    return Result<int>::failure("chmod " + temporary + ": " + errno_text(error));
  }
  return fd;
}

/// Streams bytes from `read_block` (returns bytes read, 0 at the end, <0 on error with the
/// message set) into destination via a temporary file, refusing more than `max_total` bytes.
template <typename ReadBlock>
Result<std::uint64_t> write_binary(const std::string& destination, std::uint64_t max_total,
                                   const std::string& artifact, ReadBlock read_block) {
  const std::string temporary = destination + ".tmp";
  Result<int> created = create_temporary(temporary);
  if (!created) return Status::failure(created.error());
  const int fd = *created;
  const auto abandon = [&](const std::string& message) {
    ::close(fd);
    ::unlink(temporary.c_str());
    return Result<std::uint64_t>::failure(message);
  };
  std::vector<char> buffer(kIoBufferSize);
  std::uint64_t written = 0;
  for (;;) {
    std::string error;
    const long long got = read_block(buffer.data(), buffer.size(), error);
    if (got < 0) return abandon(error);
    if (got == 0) break;
    if (written + static_cast<std::uint64_t>(got) > max_total) {
      return abandon(limit_error(artifact, max_total));
    }
    int error_number = 0;
    Status wrote = fetch_detail::write_all_at(fd, buffer.data(), static_cast<std::size_t>(got),
                                              written, temporary, error_number);
    if (!wrote) return abandon(wrote.error());
    written += static_cast<std::uint64_t>(got);
  }
  if (Status committed = fetch_detail::commit_file(fd, temporary, destination); !committed) {
    ::unlink(temporary.c_str());
    return committed;
  }
  return written;
}

Result<std::uint64_t> copy_bare_binary(const std::string& artifact, const std::string& destination,
                                       std::uint64_t max_total) {
  auto opened = open_regular_file(artifact);
  if (!opened) return Result<std::uint64_t>::failure(opened.error());
  const int in = *opened;
  Result<std::uint64_t> copied = write_binary(
      destination, max_total, artifact, [&](char* data, std::size_t size, std::string& error) {
        for (;;) {
          const ssize_t got = ::read(in, data, size);
          if (got >= 0) return static_cast<long long>(got);
          if (errno == EINTR) continue;
          error = "reading " + artifact + ": " + errno_text(errno);
          return -1LL;
        }
      });
  ::close(in);
  return copied;
}

Result<std::uint64_t> extract_entry(const std::string& artifact, const Scan& scan,
                                    const std::string& destination, std::uint64_t max_total) {
  Result<ArchivePtr> opened = open_archive(artifact);
  if (!opened) return Status::failure(opened.error());
  archive* handle = opened->get();
  for (long index = 0; index < scan.chosen_index; ++index) {
    Result<std::optional<archive_entry*>> next = next_entry(handle, artifact);
    if (!next) return Status::failure(next.error());
    if (!*next) break;
  }
  Result<std::optional<archive_entry*>> chosen = next_entry(handle, artifact);
  if (!chosen) return Status::failure(chosen.error());
  if (!*chosen) {
    return Result<std::uint64_t>::failure("unpacking " + artifact + ": archive changed while read");
  }
  return write_binary(
      destination, max_total, artifact, [&](char* data, std::size_t size, std::string& error) {
        const la_ssize_t got = archive_read_data(handle, data, size);
        if (got < 0) {
          error =
              "unpacking " + scan.chosen_path + " from " + artifact + ": " + archive_error(handle);
        }
        return static_cast<long long>(got);
      });
}

}  // namespace

Result<std::uint64_t> extract_binary(const std::string& artifact, const std::string& name,
                                     const std::string& destination, std::uint64_t max_total) {
  struct stat info {};
  if (::stat(artifact.c_str(), &info) != 0) {
    return Result<std::uint64_t>::failure("opening " + artifact + ": " + errno_text(errno));
  }
  if (!S_ISREG(info.st_mode)) {
    return Result<std::uint64_t>::failure("unpacking " + artifact + ": not a regular file");
  }
  if (info.st_size == 0) {
    return Result<std::uint64_t>::failure("unpacking " + artifact + ": the artifact is empty");
  }
  if (name.empty() || name.find('/') != std::string::npos) {
    return Result<std::uint64_t>::failure("unpacking " + artifact + ": invalid binary name \"" +
                                          name + "\"");
  }
  Result<Scan> scan = scan_archive(artifact, name, max_total);
  if (!scan) return Status::failure(scan.error());
  if (scan->kind == Kind::bare_binary) return copy_bare_binary(artifact, destination, max_total);
  return extract_entry(artifact, *scan, destination, max_total);
}

}  // namespace visor
