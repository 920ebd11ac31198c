#include "visor/common/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace visor {
namespace {

namespace fs = std::filesystem;

class Files : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "visor-files-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string read(const std::string& path) const { return read_small_file(path).value(); }
  int entries() const {
    int count = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(root_)) ++count;
    return count;
  }
  static int mode_of(const std::string& path) {
    struct stat info {};
    ::stat(path.c_str(), &info);
    return static_cast<int>(info.st_mode & 07777);
  }

  std::string root_;
};

TEST_F(Files, BothWritersReplaceTheWholeFileAndLeaveNoTemporary) {
  const std::string path = root_ + "/state.json";
  ASSERT_TRUE(write_file_atomic(path, "first\n", 0600));
  EXPECT_EQ(read(path), "first\n");
  EXPECT_EQ(mode_of(path), 0600);
  ASSERT_TRUE(write_file_atomic(path, "second, longer\n"));
  EXPECT_EQ(read(path), "second, longer\n");

  const std::string snapshot = root_ + "/status.json";
  ASSERT_TRUE(replace_file(snapshot, "{\"state\":\"running\"}\n"));
  ASSERT_TRUE(replace_file(snapshot, "{}\n"));
  EXPECT_EQ(read(snapshot), "{}\n");
  EXPECT_EQ(mode_of(snapshot), 0644);
  EXPECT_EQ(entries(), 2) << "only the two files, no temporaries";
}

TEST_F(Files, AFailedWriteNamesThePathAndKeepsTheOldContent) {
  const std::string missing = root_ + "/no-such-folder/status.json";
  const Status failed = replace_file(missing, "x");
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().find(root_ + "/no-such-folder/status.json.tmp-"), std::string::npos)
      << failed.error();
  EXPECT_NE(failed.error().find("No such file or directory"), std::string::npos) << failed.error();

  // Renaming over a directory fails: the directory is untouched and the temporary removed.
  const std::string occupied = root_ + "/occupied";
  fs::create_directory(occupied);
  const Status refused = write_file_atomic(occupied, "x");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("renaming"), std::string::npos) << refused.error();
  EXPECT_TRUE(fs::is_directory(occupied));
  EXPECT_EQ(entries(), 1);
}

TEST_F(Files, ReadChunksHandsOverEveryByteAndStopsWhenAsked) {
  const std::string path = root_ + "/data";
  std::string content;
  for (int i = 0; i < 10000; ++i) content += static_cast<char>('a' + i % 26);
  ASSERT_TRUE(write_file_atomic(path, content));
  std::string seen;
  int chunks = 0;
  ASSERT_TRUE(read_chunks(path, 4096, [&](const char* data, std::size_t length) {
    EXPECT_LE(length, 4096u);
    seen.append(data, length);
    ++chunks;
    return std::string();
  }));
  EXPECT_EQ(seen, content);
  EXPECT_GE(chunks, 3);

  const Status stopped =
      read_chunks(path, 4096, [](const char*, std::size_t) { return std::string("enough"); });
  ASSERT_FALSE(stopped);
  EXPECT_EQ(stopped.error(), "reading " + path + ": enough");

  const auto too_large = read_small_file(path, 5000);
  ASSERT_FALSE(too_large);
  // Refused by its size before any of it is read.
  EXPECT_EQ(too_large.error(), path + ": larger than 5000 bytes");
  EXPECT_EQ(read_small_file(path, 10000).value(), content);

  const Status missing =
      read_chunks(root_ + "/none", 16, [](const char*, std::size_t) { return std::string(); });
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), "opening " + root_ + "/none: No such file or directory");
}

TEST_F(Files, SpecialFilesAreRefusedWithoutHanging) {
  // A FIFO without a writer would block a plain open() forever; a directory or a device is not
  // a file visor could have written. Each is one clear error naming what it is.
  const std::string fifo = root_ + "/state.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  auto from_fifo = read_small_file(fifo);
  ASSERT_FALSE(from_fifo);
  EXPECT_NE(from_fifo.error().find("is not a regular file (a FIFO)"), std::string::npos)
      << from_fifo.error();
  auto from_directory = read_small_file(root_);
  ASSERT_FALSE(from_directory);
  EXPECT_NE(from_directory.error().find("(a directory)"), std::string::npos);
  auto from_device = read_small_file("/dev/zero");
  ASSERT_FALSE(from_device);
  EXPECT_NE(from_device.error().find("(a character device)"), std::string::npos);
  EXPECT_FALSE(read_chunks(fifo, 16, [](const char*, std::size_t) { return std::string(); }));
  EXPECT_FALSE(copy_file_synced(fifo, root_ + "/copy", 0644));
}

TEST_F(Files, ReadSmallFileRefusesALargerFileAndTellsMissingApart) {
  const std::string path = root_ + "/big";
  ASSERT_TRUE(write_file_atomic(path, std::string(5000, 'x')));
  bool missing = true;
  auto refused = read_small_file(path, 4096, &missing);
  ASSERT_FALSE(refused);
  EXPECT_FALSE(missing);
  EXPECT_NE(refused.error().find("larger than 4096 bytes"), std::string::npos);
  EXPECT_EQ(read_small_file(path, 5000, &missing).value().size(), 5000u);
  EXPECT_FALSE(read_small_file(root_ + "/absent", 4096, &missing));
  EXPECT_TRUE(missing);
}

}  // namespace
}  // namespace visor
