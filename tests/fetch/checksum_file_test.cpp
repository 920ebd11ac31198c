#include "visor/fetch/checksum_file.h"

#include <gtest/gtest.h>

#include <string>

namespace visor {
namespace {

const std::string kLavap(64, 'a');
const std::string kLavad = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST(FindChecksum, FindsTheNamedFile) {
  const std::string sums =
      kLavad + "  lavad-v5.2.1-linux-amd64\n" + kLavap + "  lavap-v5.2.1-linux-amd64\n";
  const Result<std::string> found = find_checksum(sums, "lavap-v5.2.1-linux-amd64");
  ASSERT_TRUE(found.ok()) << found.error();
  EXPECT_EQ(*found, kLavap);
}

TEST(FindChecksum, ReadsBinaryMarkerPathPrefixCrlfCommentsAndUpperCase) {
  const std::string upper = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";
  const std::string sums =
      "# release v5.2.1\r\n\r\n" + kLavad + " *lavad\r\n" + upper + "  ./dist/lavap\r\n";
  EXPECT_EQ(find_checksum(sums, "lavad").value(), kLavad);
  EXPECT_EQ(find_checksum(sums, "lavap").value(), kLavad);  // the upper-case hash, lowered
}

TEST(FindChecksum, ReadsBsdStyleAndBareHash) {
  EXPECT_EQ(
      find_checksum("SHA256 (vega-linux-amd64.zip) = " + kLavap + "\n", "vega-linux-amd64.zip")
          .value(),
      kLavap);
  EXPECT_EQ(find_checksum(kLavad + "\n", "anything").value(), kLavad);
}

TEST(FindChecksum, MissingEntryListsWhatTheFileNames) {
  const Result<std::string> found =
      find_checksum(kLavad + "  lavad\n" + kLavad + "  lavavisor\n", "lavap");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error(), "no checksum for lavap in checksum file (it lists lavad, lavavisor)");
}

TEST(FindChecksum, MalformedEntryIsAnErrorNamingTheLine) {
  const Result<std::string> found = find_checksum("# x\nabc123  lavap\n", "lavap");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error(),
            "malformed checksum for lavap on line 2: \"abc123\" is not 64 hex digits");
  EXPECT_FALSE(find_checksum(std::string(64, 'g') + "  lavap\n", "lavap").ok());
}

TEST(FindChecksum, GarbageAndEmptyFilesAreErrors) {
  EXPECT_EQ(find_checksum("<html>Not Found</html>", "lavap").error(),
            "no checksum for lavap in checksum file (it lists Found</html>)");
  EXPECT_EQ(find_checksum("\n\n", "lavap").error(), "checksum file is empty, no entry for lavap");
}

TEST(FindChecksum, ConflictingDuplicatesAreAnError) {
  const Result<std::string> found =
      find_checksum(kLavad + "  lavap\n" + kLavap + "  ./lavap\n", "lavap");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error(), "checksum file lists lavap twice with different hashes");
  EXPECT_TRUE(find_checksum(kLavad + "  lavap\n" + kLavad + "  ./lavap\n", "lavap").ok());
}

TEST(ChecksumFromUrl, ReadsTheQueryParameter) {
  EXPECT_EQ(checksum_from_url("https://h/a.tar.gz?checksum=sha256:" + kLavad), kLavad);
  EXPECT_EQ(checksum_from_url("https://h/a?x=1&checksum=sha256%3A" + kLavad + "#frag"), kLavad);
  EXPECT_EQ(checksum_from_url("https://h/a?checksum=" + kLavad), kLavad);
  EXPECT_EQ(checksum_from_url("https://h/a?checksum=SHA256:" + std::string(64, 'A')), kLavap);
}

TEST(ChecksumFromUrl, NothingWhenAbsentOrNotSha256) {
  EXPECT_EQ(checksum_from_url("https://h/a.tar.gz"), std::nullopt);
  EXPECT_EQ(checksum_from_url("https://h/a?checksum=md5:d41d8cd98f00b204e9800998ecf8427e"),
            std::nullopt);
  EXPECT_EQ(checksum_from_url("https://h/a#?checksum=sha256:" + kLavad), std::nullopt);
  EXPECT_EQ(checksum_from_url("https://h/a?checksum=sha256:abc"), std::nullopt);
}

TEST(StripChecksumQuery, KeepsOtherParametersAndFragment) {
  EXPECT_EQ(strip_checksum_query("https://h/a?checksum=sha256:" + kLavad), "https://h/a");
  EXPECT_EQ(strip_checksum_query("https://h/a?x=1&checksum=sha256:" + kLavad + "&y=2#f"),
            "https://h/a?x=1&y=2#f");
  EXPECT_EQ(strip_checksum_query("https://h/a?x=1"), "https://h/a?x=1");
  EXPECT_EQ(strip_checksum_query("https://h/a"), "https://h/a");
}

TEST(FileNameOfUrl, TakesTheLastPathComponent) {
  EXPECT_EQ(file_name_of_url("https://github.com/lavanet/lava/releases/download/v5.2.1/"
                             "lavap-v5.2.1-linux-amd64?checksum=sha256:" +
                             kLavad),
            "lavap-v5.2.1-linux-amd64");
  EXPECT_EQ(file_name_of_url("http://127.0.0.1:8080/vega-linux-amd64.zip#x"),
            "vega-linux-amd64.zip");
  EXPECT_EQ(file_name_of_url("https://h/a%2Bb"), "a+b");
  EXPECT_EQ(file_name_of_url("https://h"), "");
  EXPECT_EQ(file_name_of_url("https://h/dir/"), "");
}

}  // namespace
}  // namespace visor
