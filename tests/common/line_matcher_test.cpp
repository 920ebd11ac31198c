#include "visor/common/line_matcher.h"

#include <gtest/gtest.h>

#include <string>

namespace visor {
namespace {

TEST(LineMatcher, MatchesWholeLinesAcrossChunks) {
  LineMatcher matcher("^Process Started.*$");
  ASSERT_TRUE(matcher.ok());
  EXPECT_FALSE(matcher.feed("booting\nProcess Sta"));
  EXPECT_FALSE(matcher.feed("rted on port 1"));  // the line is not complete yet
  EXPECT_TRUE(matcher.feed("\n"));
  EXPECT_FALSE(matcher.feed("something else\n"));
}

TEST(LineMatcher, AVeryLongLineIsBoundedAndTheNextLineStillMatches) {
  LineMatcher matcher("Process Started.*");
  // 10 MiB without a newline, fed as a pipe would deliver it.
  const std::string chunk(8192, 'x');
  for (int index = 0; index < 10 * 128; ++index) {
    EXPECT_FALSE(matcher.feed(chunk));
    EXPECT_LE(matcher.buffered(), LineMatcher::kMaxLine);
  }
  EXPECT_TRUE(matcher.feed("\nProcess Started\n"));
}

TEST(LineMatcher, AnOverLongLineIsDecidedOnItsCappedPrefix) {
  LineMatcher early("READY");
  EXPECT_TRUE(early.feed("READY " + std::string(LineMatcher::kMaxLine * 2, 'y')));
  LineMatcher late("READY");
  EXPECT_FALSE(late.feed(std::string(LineMatcher::kMaxLine + 10, 'y') + " READY\n"));
  EXPECT_TRUE(late.feed("READY\n"));
}

TEST(LineMatcher, ResetForgetsThePartialLine) {
  LineMatcher matcher("^abc$");
  EXPECT_FALSE(matcher.feed("ab"));
  matcher.reset();
  EXPECT_FALSE(matcher.feed("c\n"));
  EXPECT_TRUE(matcher.feed("abc\n"));
}

TEST(LineMatcher, InvalidPatternsAreReported) {
  EXPECT_EQ(line_pattern_error("Process Started.*"), "");
  EXPECT_NE(line_pattern_error("(unclosed"), "");
  EXPECT_NE(line_pattern_error("a{2,1}"), "");
  // Backreferences need backtracking; RE2 refuses them instead of risking exponential time.
  EXPECT_NE(line_pattern_error("(a)\\1"), "");
}

}  // namespace
}  // namespace visor
