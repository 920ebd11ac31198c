#include "visor/common/sha256.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace visor {
namespace {

std::string digest_of(const std::string& text) {
  Sha256 hash;
  hash.update(text.data(), text.size());
  return hash.hex_digest();
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(digest_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(digest_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(digest_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, StreamingInOddChunksEqualsOneShot) {
  const std::string mebibyte(1 << 20, 'a');
  Sha256 streamed;
  std::size_t offset = 0;
  const std::size_t chunks[] = {1, 3, 63, 64, 65, 4095, 7919, 65537};
  for (std::size_t i = 0; offset < mebibyte.size(); ++i) {
    const std::size_t length = std::min(chunks[i % 8], mebibyte.size() - offset);
    streamed.update(mebibyte.data() + offset, length);
    offset += length;
  }
  const std::string expected = "9bc1b2a288b26af7257a36277ae3816a7d4f16e89c1e7e77d0a5c48bad62b360";
  EXPECT_EQ(streamed.hex_digest(), expected);
  EXPECT_EQ(digest_of(mebibyte), expected);
}

TEST(Sha256, DigestResetsForReuse) {
  Sha256 hash;
  hash.update("junk", 4);
  (void)hash.hex_digest();
  hash.update("abc", 3);
  EXPECT_EQ(hash.hex_digest(), digest_of("abc"));
}

TEST(Sha256, HashesAFile) {
  const std::string path = ::testing::TempDir() + "visor_sha256_file_test";
  {
    std::ofstream out(path, std::ios::binary);
    out << "abc";
  }
  const Result<std::string> digest = sha256_file(path);
  ASSERT_TRUE(digest.ok()) << digest.error();
  EXPECT_EQ(*digest, digest_of("abc"));
  std::remove(path.c_str());
}

TEST(Sha256, MissingFileNamesPathAndCause) {
  const Result<std::string> digest = sha256_file("/nonexistent/visor/file");
  ASSERT_FALSE(digest.ok());
  EXPECT_EQ(digest.error(), "opening /nonexistent/visor/file: No such file or directory");
}

TEST(Sha256, RecognisesHexDigests) {
  EXPECT_TRUE(is_sha256_hex(std::string(64, 'a')));
  EXPECT_TRUE(is_sha256_hex(std::string(64, 'F')));
  EXPECT_FALSE(is_sha256_hex(std::string(63, 'a')));
  EXPECT_FALSE(is_sha256_hex(std::string(63, 'a') + "g"));
}

}  // namespace
}  // namespace visor
