#include "visor/common/command_line.h"

#include <gtest/gtest.h>

namespace visor {
namespace {

std::vector<std::string> split(const std::string& text) {
  auto words = split_command_line(text);
  EXPECT_TRUE(words.ok()) << words.error();
  return words.ok() ? words.value() : std::vector<std::string>{};
}

TEST(CommandLine, SplitsOnBlanks) {
  EXPECT_EQ(split("lavap rpcprovider  --geolocation 1\t--log_level info"),
            (std::vector<std::string>{"lavap", "rpcprovider", "--geolocation", "1", "--log_level",
                                      "info"}));
}

TEST(CommandLine, SingleQuotesKeepEverything) {
  EXPECT_EQ(split("a 'b c' '$(rm -rf /)' 'x\\y'"),
            (std::vector<std::string>{"a", "b c", "$(rm -rf /)", "x\\y"}));
}

TEST(CommandLine, DoubleQuotesHonourOnlyFourEscapes) {
  EXPECT_EQ(split(R"(a "b \"c\" \\ \$HOME \` \n")"),
            (std::vector<std::string>{"a", R"(b "c" \ $HOME ` \n)"}));
}

TEST(CommandLine, BackslashQuotesNextCharacter) {
  EXPECT_EQ(split(R"(a\ b c\'d \$x)"), (std::vector<std::string>{"a b", "c'd", "$x"}));
}

TEST(CommandLine, AdjacentQuotedPartsJoinIntoOneWord) {
  EXPECT_EQ(split(R"(--flag="a b"'c d'e)"), (std::vector<std::string>{"--flag=a bc de"}));
}

TEST(CommandLine, EmptyQuotesMakeAnEmptyWord) {
  EXPECT_EQ(split("a '' \"\" b"), (std::vector<std::string>{"a", "", "", "b"}));
}

TEST(CommandLine, NothingIsExpanded) {
  EXPECT_EQ(split("echo $(id) `id` $HOME ~ *.txt"),
            (std::vector<std::string>{"echo", "$(id)", "`id`", "$HOME", "~", "*.txt"}));
}

TEST(CommandLine, BackslashNewlineJoinsLines) {
  EXPECT_EQ(split("a \\\nb"), (std::vector<std::string>{"a", "b"}));
}

TEST(CommandLine, UnterminatedQuotesAreErrors) {
  auto single = split_command_line("a 'b");
  ASSERT_FALSE(single.ok());
  EXPECT_NE(single.error().find("unterminated single quote"), std::string::npos);
  auto double_quote = split_command_line("a \"b");
  ASSERT_FALSE(double_quote.ok());
  EXPECT_NE(double_quote.error().find("unterminated double quote"), std::string::npos);
  EXPECT_FALSE(split_command_line("a\\").ok());
}

TEST(CommandLine, EmptyInputGivesNoWords) { EXPECT_TRUE(split("   ").empty()); }

TEST(CommandLine, QuoteWordRoundTrips) {
  const std::vector<std::string> words{"plain", "with space", "it's", "", "$(x)", "a\"b", "tab\tx"};
  EXPECT_EQ(split(join_command_line(words)), words);
}

}  // namespace
}  // namespace visor
