// extract_binary() on archives built here with libarchive's write API.
#include "visor/fetch/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "release_server.h"

namespace visor {
namespace {

using testing::TempDir;

constexpr std::uint64_t kLimit = 16 << 20;

/// One entry to put in a test archive.
struct Entry {
  std::string path;
  std::string content;  ///< for regular files
  mode_t type = AE_IFREG;
  std::string link;              ///< symlink target (AE_IFLNK) or hard link target
  std::uint64_t zero_bytes = 0;  ///< when non-zero: a file of this many zero bytes instead
};

Entry file(std::string path, std::string content) {
  Entry entry;
  entry.path = std::move(path);
  entry.content = std::move(content);
  return entry;
}
Entry folder(std::string path) {
  Entry entry;
  entry.path = std::move(path);
  entry.type = AE_IFDIR;
  return entry;
}
Entry symlink(std::string path, std::string target) {
  Entry entry;
  entry.path = std::move(path);
  entry.type = AE_IFLNK;
  entry.link = std::move(target);
  return entry;
}
Entry hard_link(std::string path, std::string target) {
  Entry entry;
  entry.path = std::move(path);
  entry.link = std::move(target);
  return entry;
}
Entry zeros(std::string path, std::uint64_t size) {
  Entry entry;
  entry.path = std::move(path);
  entry.zero_bytes = size;
  return entry;
}

enum class Format { tar_gz, tar, zip };

/// Writes `entries` into an archive at `path`; returns libarchive's error text, empty on success.
std::string write_archive(const std::string& path, Format format,
                          const std::vector<Entry>& entries) {
  archive* out = archive_write_new();
  if (format == Format::zip) {
    archive_write_set_format_zip(out);
  } else {
    archive_write_set_format_pax_restricted(out);
    if (format == Format::tar_gz) archive_write_add_filter_gzip(out);
  }
  if (archive_write_open_filename(out, path.c_str()) != ARCHIVE_OK) {
    const std::string error = archive_error_string(out);
    archive_write_free(out);
    return error;
  }
  const std::string zeros(1 << 20, '\0');
  for (const Entry& spec : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, spec.path.c_str());
    archive_entry_set_perm(entry, spec.type == AE_IFDIR ? 0755 : 0644);
    if (spec.type == AE_IFLNK) {
      archive_entry_set_filetype(entry, AE_IFLNK);
      archive_entry_set_symlink(entry, spec.link.c_str());
    } else if (!spec.link.empty()) {
      archive_entry_set_filetype(entry, AE_IFREG);
      archive_entry_set_hardlink(entry, spec.link.c_str());
    } else {
      archive_entry_set_filetype(entry, spec.type);
      const std::uint64_t size = spec.zero_bytes != 0 ? spec.zero_bytes : spec.content.size();
      if (spec.type == AE_IFREG) archive_entry_set_size(entry, static_cast<la_int64_t>(size));
    }
    if (archive_write_header(out, entry) != ARCHIVE_OK) {
      const std::string error = archive_error_string(out);
      archive_entry_free(entry);
      archive_write_free(out);
      return error;
    }
    if (spec.zero_bytes != 0) {
      for (std::uint64_t left = spec.zero_bytes; left > 0;) {
        const std::size_t step =
            static_cast<std::size_t>(std::min<std::uint64_t>(left, zeros.size()));
        archive_write_data(out, zeros.data(), step);
        left -= step;
      }
    } else if (!spec.content.empty()) {
      archive_write_data(out, spec.content.data(), spec.content.size());
    }
    archive_entry_free(entry);
  }
  archive_write_close(out);
  archive_write_free(out);
  return "";
}

/// A gzip stream of `content` with no tar inside (like "lavap.gz").
bool write_gzip_only(const std::string& path, const std::string& content) {
  archive* out = archive_write_new();
  archive_write_set_format_raw(out);
  archive_write_add_filter_gzip(out);
  if (archive_write_open_filename(out, path.c_str()) != ARCHIVE_OK) {
    archive_write_free(out);
    return false;
  }
  archive_entry* entry = archive_entry_new();
  archive_entry_set_filetype(entry, AE_IFREG);
  archive_entry_set_pathname(entry, "data");
  archive_write_header(out, entry);
  archive_write_data(out, content.data(), content.size());
  archive_entry_free(entry);
  archive_write_close(out);
  archive_write_free(out);
  return true;
}

class UnpackTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(temp_.path().empty()); }

  std::string archive(const std::string& file_name, Format format,
                      const std::vector<Entry>& entries) {
    const std::string path = temp_ / file_name;
    const std::string error = write_archive(path, format, entries);
    EXPECT_EQ(error, "");
    return path;
  }

  Result<std::uint64_t> extract(const std::string& artifact, const std::string& name,
                                std::uint64_t limit = kLimit) {
    return extract_binary(artifact, name, destination(), limit);
  }

  std::string destination() const { return temp_ / "out-binary"; }
  bool destination_exists() const { return std::filesystem::exists(destination()); }

  TempDir temp_;
  const std::string binary_ =
      "\x7f"
      "ELF fake lavap binary\n" +
      std::string(100000, 'L');
};

TEST_F(UnpackTest, TarGzWithBinUnderOneTopFolder) {
  const std::string artifact =
      archive("lavap.tar.gz", Format::tar_gz,
              {folder("lavap-v5/"), file("lavap-v5/README.md", "read me"), folder("lavap-v5/bin/"),
               file("lavap-v5/bin/lavap", binary_), symlink("lavap-v5/bin/lavap-link", "lavap")});
  const Result<std::uint64_t> written = extract(artifact, "lavap");
  ASSERT_TRUE(written.ok()) << written.error();
  EXPECT_EQ(*written, binary_.size());
  EXPECT_EQ(testing::read_file(destination()), binary_);
  struct stat info {};
  ASSERT_EQ(::stat(destination().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0755u);
  EXPECT_FALSE(std::filesystem::exists(destination() + ".tmp"));
}

TEST_F(UnpackTest, TarGzWithRootBinFolder) {
  const std::string artifact =
      archive("a.tgz", Format::tar_gz, {file("./bin/lavap", binary_), file("./LICENSE", "MIT")});
  const Result<std::uint64_t> written = extract(artifact, "lavap");
  ASSERT_TRUE(written.ok()) << written.error();
  EXPECT_EQ(testing::read_file(destination()), binary_);
}

TEST_F(UnpackTest, PlainTarIsRead) {
  const std::string artifact = archive("a.tar", Format::tar, {file("lavap", binary_)});
  const Result<std::uint64_t> written = extract(artifact, "lavap");
  ASSERT_TRUE(written.ok()) << written.error();
  EXPECT_EQ(testing::read_file(destination()), binary_);
}

TEST_F(UnpackTest, ZipWithBinaryAtRootIgnoringMacResourceForks) {
  // Named .bin on purpose: the content decides, not the file name.
  const std::string artifact =
      archive("vega-linux-amd64.bin", Format::zip,
              {file("vega", binary_), folder("__MACOSX/"), file("__MACOSX/._vega", "fork")});
  const Result<std::uint64_t> written = extract(artifact, "vega");
  ASSERT_TRUE(written.ok()) << written.error();
  EXPECT_EQ(testing::read_file(destination()), binary_);
}

TEST_F(UnpackTest, RootEntryWinsOverBinAndFolder) {
  const std::string artifact =
      archive("a.zip", Format::zip, {file("bin/vega", "from bin"), file("vega", "from root")});
  ASSERT_TRUE(extract(artifact, "vega").ok());
  EXPECT_EQ(testing::read_file(destination()), "from root");
}

TEST_F(UnpackTest, BareBinaryIsCopied) {
  const std::string artifact = temp_ / "lavap-v5.2.1-linux-amd64";
  testing::write_file(artifact, binary_);
  const Result<std::uint64_t> written = extract(artifact, "lavap");
  ASSERT_TRUE(written.ok()) << written.error();
  EXPECT_EQ(*written, binary_.size());
  EXPECT_EQ(testing::read_file(destination()), binary_);
  struct stat info {};
  ASSERT_EQ(::stat(destination().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0755u);
}

TEST_F(UnpackTest, ParentDirectoryEntryRefusesTheWholeArchive) {
  const std::string artifact =
      archive("evil.tar.gz", Format::tar_gz, {file("bin/lavap", binary_), file("../evil", "x")});
  const Result<std::uint64_t> written = extract(artifact, "lavap");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error(),
            "refusing archive " + artifact + ": entry \"../evil\" has a \"..\" component");
  EXPECT_FALSE(destination_exists());
}

TEST_F(UnpackTest, DotDotInsideAPathIsRefused) {
  const std::string artifact =
      archive("evil.zip", Format::zip, {file("vega", binary_), file("a/../../evil", "x")});
  const Result<std::uint64_t> written = extract(artifact, "vega");
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().find("has a \"..\" component"), std::string::npos) << written.error();
  EXPECT_FALSE(destination_exists());
}

TEST_F(UnpackTest, AbsolutePathIsRefused) {
  const std::string artifact =
      archive("abs.tar", Format::tar, {file("lavap", binary_), file("/abs", "x")});
  const Result<std::uint64_t> written = extract(artifact, "lavap");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error(),
            "refusing archive " + artifact + ": entry \"/abs\" has an absolute path");
  EXPECT_FALSE(destination_exists());
}

TEST_F(UnpackTest, EscapingSymlinkIsRefused) {
  const std::string artifact =
      archive("link.tar.gz", Format::tar_gz, {symlink("bin/lavap", "/etc/passwd")});
  const Result<std::uint64_t> written = extract(artifact, "lavap");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error(), "refusing archive " + artifact +
                                 ": entry \"bin/lavap\" is a symbolic link to \"/etc/passwd\" "
                                 "outside the archive");
  EXPECT_FALSE(destination_exists());
}

TEST_F(UnpackTest, RelativeSymlinkClimbingOutIsRefused) {
  const std::string artifact = archive("link.tar.gz", Format::tar_gz,
                                       {file("lavap", binary_), symlink("bin/up", "../../x")});
  const Result<std::uint64_t> written = extract(artifact, "lavap");
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().find("is a symbolic link to \"../../x\""), std::string::npos);
}

TEST_F(UnpackTest, EscapingHardLinkIsRefused) {
  const std::string artifact = archive(
      "hard.tar", Format::tar, {file("lavap", binary_), hard_link("other", "../etc/passwd")});
  const Result<std::uint64_t> written = extract(artifact, "lavap");
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().find("is a hard link to \"../etc/passwd\""), std::string::npos)
      << written.error();
}

TEST_F(UnpackTest, SymlinkInsideTheArchiveIsNotARegularFile) {
  const std::string artifact =
      archive("link.tar.gz", Format::tar_gz,
              {file("bin/lavap-5", binary_), symlink("bin/lavap", "lavap-5")});
  const Result<std::uint64_t> written = extract(artifact, "lavap");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error(),
            "unpacking " + artifact + ": entry \"bin/lavap\" is not a regular file");
}

TEST_F(UnpackTest, ZipBombStopsAtTheLimit) {
  const std::string artifact = archive("bomb.zip", Format::zip, {zeros("vega", 64ULL << 20)});
  EXPECT_LT(std::filesystem::file_size(artifact), 1u << 20);  // it really is a bomb
  const Result<std::uint64_t> written = extract(artifact, "vega", kLimit);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error(), "unpacking " + artifact +
                                 ": unpacked size exceeds the limit of 16777216 bytes "
                                 "(refusing a possible archive bomb)");
  EXPECT_FALSE(destination_exists());
  EXPECT_FALSE(std::filesystem::exists(destination() + ".tmp"));
}

TEST_F(UnpackTest, TarGzBombStopsAtTheLimit) {
  const std::string artifact =
      archive("bomb.tar.gz", Format::tar_gz,
              {zeros("a", 10ULL << 20), zeros("b", 10ULL << 20), file("lavap", binary_)});
  const Result<std::uint64_t> written = extract(artifact, "lavap", kLimit);
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().find("exceeds the limit"), std::string::npos) << written.error();
}

TEST_F(UnpackTest, BareBinaryOverTheLimitIsRefused) {
  const std::string artifact = temp_ / "big";
  testing::write_file(artifact, binary_);
  const Result<std::uint64_t> written = extract(artifact, "lavap", 1000);
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().find("exceeds the limit of 1000 bytes"), std::string::npos);
  EXPECT_FALSE(destination_exists());
}

TEST_F(UnpackTest, MissingNameListsWhatTheArchiveHolds) {
  const std::string artifact =
      archive("other.tar.gz", Format::tar_gz, {file("lavad", binary_), file("docs/README", "x")});
  const Result<std::uint64_t> written = extract(artifact, "lavap");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error(), "no file named lavap in archive " + artifact +
                                 " (looked at its root, bin/, and inside a single top-level "
                                 "folder; it holds lavad, docs/README)");
}

TEST_F(UnpackTest, FolderMatchNeedsASingleTopLevelFolder) {
  const std::string artifact =
      archive("two.tar.gz", Format::tar_gz, {file("a/lavap", "one"), file("b/lavap", "two")});
  const Result<std::uint64_t> written = extract(artifact, "lavap");
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().find("no file named lavap"), std::string::npos);
}

TEST_F(UnpackTest, DeeperEntriesDoNotCount) {
  const std::string artifact =
      archive("deep.zip", Format::zip, {file("top/tools/linux/lavap", binary_)});
  EXPECT_FALSE(extract(artifact, "lavap").ok());
}

TEST_F(UnpackTest, GzipWithoutTarIsAClearError) {
  const std::string artifact = temp_ / "lavap.gz";
  ASSERT_TRUE(write_gzip_only(artifact, binary_));
  const Result<std::uint64_t> written = extract(artifact, "lavap");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error(),
            "unpacking " + artifact + ": compressed with gzip but holds no tar or zip archive");
}

TEST_F(UnpackTest, CorruptArchiveIsAnErrorNotABareBinary) {
  const std::string good = archive("good.tar.gz", Format::tar_gz, {file("lavap", binary_)});
  std::string bytes = testing::read_file(good);
  bytes.resize(bytes.size() / 2);
  const std::string artifact = temp_ / "cut.tar.gz";
  testing::write_file(artifact, bytes);
  const Result<std::uint64_t> written = extract(artifact, "lavap");
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().find(artifact), std::string::npos) << written.error();
  EXPECT_FALSE(destination_exists());
}

TEST_F(UnpackTest, EmptyAndMissingArtifactsAreErrors) {
  const std::string empty = temp_ / "empty";
  testing::write_file(empty, "");
  EXPECT_EQ(extract(empty, "lavap").error(), "unpacking " + empty + ": the artifact is empty");
  EXPECT_EQ(extract(temp_ / "nope", "lavap").error(),
            "opening " + (temp_ / "nope") + ": No such file or directory");
}

}  // namespace
}  // namespace visor
