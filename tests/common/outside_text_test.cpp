#include "visor/common/outside_text.h"

#include <gtest/gtest.h>

#include <string>

#include "visor/common/log.h"

namespace visor {
namespace {

// True when `text` is well-formed UTF-8 (checked here by a decoder of its own, not the one
// under test: the lead byte gives the length, every continuation byte is 10xxxxxx, and the
// code point is neither overlong, a surrogate nor above U+10FFFF).
bool valid_utf8(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    int length = lead < 0x80         ? 1
                 : (lead >> 5) == 6  ? 2
                 : (lead >> 4) == 14 ? 3
                 : (lead >> 3) == 30 ? 4
                                     : 0;
    if (length == 0 || i + static_cast<std::size_t>(length) > text.size()) return false;
    unsigned point = length == 1   ? lead
                     : length == 2 ? lead & 0x1F
                     : length == 3 ? lead & 0x0F
                                   : lead & 0x07;
    for (int k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
      if ((next & 0xC0) != 0x80) return false;
      point = (point << 6) | (next & 0x3F);
    }
    const unsigned minimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (point < minimum[length] || point > 0x10FFFF || (point >= 0xD800 && point <= 0xDFFF))
      return false;
    i += static_cast<std::size_t>(length);
  }
  return true;
}

TEST(OutsideText, KeepsPlainAndMultibyteTextAsItIs) {
  EXPECT_EQ(outside_text("5.2.1 ok"), "5.2.1 ok");
  EXPECT_EQ(outside_text("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80");  // é, €, an emoji
}

TEST(OutsideText, ReplacesEveryInvalidByteWithTheReplacementCharacter) {
  const std::string replacement = "\xEF\xBF\xBD";
  EXPECT_EQ(outside_text("<html>\xff</html>"), "<html>" + replacement + "</html>");
  EXPECT_EQ(outside_text("caf\xE9"), "caf" + replacement);                           // Latin-1 é
  EXPECT_EQ(outside_text("\xC0\xAF"), replacement + replacement);                    // overlong '/'
  EXPECT_EQ(outside_text("\xED\xA0\x80"), replacement + replacement + replacement);  // surrogate
  EXPECT_EQ(outside_text("\xF4\x90\x80\x80").substr(0, 3), replacement);  // above U+10FFFF
  EXPECT_EQ(outside_text("\xE2\x82"), replacement + replacement);         // cut sequence
}

TEST(OutsideText, EscapesControlsLineBreaksAndBidiOverrides) {
  EXPECT_EQ(outside_text("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(outside_text(std::string("x\0y\x1b[31m\x7f", 9)), "x\\x00y\\x1b[31m\\x7f");
  EXPECT_EQ(outside_text("\xC2\x85"), "\\u0085");  // NEL, a C1 control
  EXPECT_EQ(outside_text("\xE2\x80\xAE"
                         "abc"),
            "\\u202eabc");                             // right-to-left override
  EXPECT_EQ(outside_text("\xE2\x80\xA8"), "\\u2028");  // line separator
}

TEST(OutsideText, CutsAtACharacterBoundaryAndSaysHowMuchWasLeft) {
  const std::string euros = std::string(10, 'a') + "\xE2\x82\xAC\xE2\x82\xAC";  // 16 bytes
  const std::string cut = outside_text(euros, 12);
  EXPECT_EQ(cut, std::string(10, 'a') + "...(+6 bytes)");
  const std::string huge(1 << 20, '\xff');
  const std::string bounded = outside_text(huge, 100);
  EXPECT_LE(bounded.size(), 100 + kExcerptMarkerBytes);
  EXPECT_TRUE(valid_utf8(bounded));
}

TEST(OutsideText, EveryByteStringBecomesValidBoundedUtf8) {
  // All 2-byte strings, and 3-byte strings around the multibyte leads, through a bound that
  // cuts in the middle of them.
  for (int first = 0; first < 256; ++first) {
    for (int second = 0; second < 256; ++second) {
      const std::string text{static_cast<char>(first), static_cast<char>(second), '\x80'};
      for (std::size_t bound : {std::size_t{1}, std::size_t{4}, kExcerptBytes}) {
        const std::string result = outside_text(text, bound);
        ASSERT_TRUE(valid_utf8(result)) << first << " " << second;
        ASSERT_LE(result.size(), bound + kExcerptMarkerBytes);
        ASSERT_EQ(result.find('\n'), std::string::npos);
      }
    }
  }
}

TEST(OutsideJson, DescribesValuesWithoutSerialisingThem) {
  EXPECT_EQ(describe_json(nlohmann::json("5.2.1\n")), "\"5.2.1\\n\"");
  EXPECT_EQ(describe_json(nlohmann::json(42)), "42");
  EXPECT_EQ(describe_json(nlohmann::json(nullptr)), "null");
  EXPECT_EQ(describe_json(nlohmann::json::array({1, 2, 3})), "an array of 3 elements");
  EXPECT_EQ(describe_json(nlohmann::json::object({{"a", 1}})), "an object of 1 keys");
}

TEST(OutsideJson, RefusesNestingDeeperThanTheLimitAsOneError) {
  std::string error;
  const std::string deep = std::string(150000, '[') + std::string(150000, ']');
  EXPECT_FALSE(parse_outside_json(deep, error));
  EXPECT_NE(error.find("nested deeper than 64 levels"), std::string::npos) << error;
  EXPECT_LE(error.size(), 200u);

  const std::string within = std::string(64, '[') + std::string(64, ']');
  EXPECT_TRUE(parse_outside_json(within, error));
  const std::string beyond = std::string(65, '[') + std::string(65, ']');
  EXPECT_FALSE(parse_outside_json(beyond, error));

  const std::string deep_member = R"({"params":{"version":{"provider_target":)" + deep + "}}}";
  EXPECT_FALSE(parse_outside_json(deep_member, error));
  EXPECT_NE(error.find("nested deeper"), std::string::npos);

  EXPECT_FALSE(parse_outside_json("<html>\xff", error));
  EXPECT_EQ(error, "not JSON (starts with '<html>\xEF\xBF\xBD')");
}

TEST(OutsideJson, DumpReplacesInvalidUtf8InsteadOfThrowing) {
  const nlohmann::json document = {{"last_error", "bad \xff byte"}};
  EXPECT_EQ(dump_json(document), "{\"last_error\":\"bad \xEF\xBF\xBD byte\"}");
}

TEST(LogLines, EveryLineIsOneBoundedLineOfValidUtf8WhateverTheMessageQuotes) {
  const std::string hostile =
      "reply '<html>\xff\n2026-01-01 visor INFO forged line" + std::string(100000, 'x') + "'";
  for (const auto format : {log::Format::text, log::Format::json}) {
    const std::string line = log::render(format, log::Level::warn, "source_error", hostile,
                                         {{"body", hostile}}, "2026-01-01T00:00:00.000Z");
    EXPECT_TRUE(valid_utf8(line));
    EXPECT_EQ(line.find('\n'), std::string::npos);
    EXPECT_LT(line.size(), 2 * (log::kMaxMessageBytes + log::kMaxFieldBytes));
    EXPECT_NE(line.find("forged line"), std::string::npos);  // kept, as data
  }
}

}  // namespace
}  // namespace visor
