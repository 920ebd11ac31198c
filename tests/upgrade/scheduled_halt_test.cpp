#include "visor/upgrade/scheduled_halt.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace visor {
namespace {

using Heights = std::vector<std::uint64_t>;

ChildExit exited(bool clean, std::optional<std::uint64_t> halt_height,
                 std::optional<std::uint64_t> chain_height) {
  return ChildExit{clean, halt_height, chain_height};
}

TEST(HaltHeightArgument, ReadsBothSpellingsAndTheLastOneCounts) {
  EXPECT_EQ(halt_height_argument({"simd", "start", "--halt-height", "105"}), 105u);
  EXPECT_EQ(halt_height_argument({"simd", "start", "--halt-height=105", "--home", "/x"}), 105u);
  EXPECT_EQ(halt_height_argument({"simd", "--halt-height", "7", "--halt-height=9"}), 9u);
  EXPECT_EQ(halt_height_argument({"simd", "--halt-height=0"}), 0u);
}

TEST(HaltHeightArgument, NoneOrNotABlockHeightIsNothing) {
  EXPECT_FALSE(halt_height_argument({"simd", "start"}).has_value());
  EXPECT_FALSE(halt_height_argument({"simd", "start", "--halt-height"}).has_value());
  EXPECT_FALSE(halt_height_argument({"simd", "--halt-height", "-5"}).has_value());
  EXPECT_FALSE(halt_height_argument({"simd", "--halt-height=105x"}).has_value());
  EXPECT_FALSE(halt_height_argument({"simd", "--halt-height="}).has_value());
  EXPECT_FALSE(halt_height_argument({"simd", "--halt-height", "99999999999999999999"}).has_value());
  EXPECT_FALSE(halt_height_argument({"simd", "--halt-heights=105"}).has_value());
  EXPECT_FALSE(halt_height_argument({"simd", "--halt-time", "105"}).has_value());
  // argv[0] is the program, never a flag.
  EXPECT_FALSE(halt_height_argument({"--halt-height=105"}).has_value());
  EXPECT_FALSE(halt_height_argument({}).has_value());
}

// A crash long before the height must not switch early: the new binary would run blocks of the
// old one. Not even when the child was told to halt at that height: it did not get there.
TEST(ScheduledHalt, ACrashFarBelowTheHeightIsAnOrdinaryExit) {
  EXPECT_FALSE(scheduled_halt({105}, exited(false, 105, 100)).has_value());
  EXPECT_FALSE(scheduled_halt({105}, exited(false, std::nullopt, 100)).has_value());
  EXPECT_FALSE(scheduled_halt({105}, exited(false, 105, std::nullopt)).has_value());
}

TEST(ScheduledHalt, ACleanExitIsAHaltOnlyWithItsOwnHaltHeight) {
  EXPECT_FALSE(scheduled_halt({105}, exited(true, std::nullopt, 100)).has_value());
  EXPECT_FALSE(scheduled_halt({105}, exited(true, 200, 100)).has_value());  // another height
  EXPECT_FALSE(scheduled_halt({105}, exited(true, 104, 100)).has_value());
  // The node halted itself where the switch is scheduled; the poll lagged behind.
  EXPECT_EQ(scheduled_halt({105}, exited(true, 105, 100)), 105u);
  EXPECT_EQ(scheduled_halt({105}, exited(true, 105, std::nullopt)), 105u);  // no poll yet
}

TEST(ScheduledHalt, TheChainSeenAtTheHeightOrOneBelowMakesAnyExitTheHalt) {
  EXPECT_EQ(scheduled_halt({105}, exited(false, std::nullopt, 104)), 105u);
  EXPECT_EQ(scheduled_halt({105}, exited(false, std::nullopt, 105)), 105u);
  EXPECT_EQ(scheduled_halt({105}, exited(true, std::nullopt, 104)), 105u);
  EXPECT_EQ(scheduled_halt({105}, exited(false, std::nullopt, 180)), 105u);
  EXPECT_FALSE(scheduled_halt({105}, exited(false, std::nullopt, 103)).has_value());
  EXPECT_FALSE(scheduled_halt({105}, exited(true, std::nullopt, 103)).has_value());
}

TEST(ScheduledHalt, NothingScheduledIsNoHalt) {
  EXPECT_FALSE(scheduled_halt({}, exited(true, 105, 105)).has_value());
}

TEST(ScheduledHalt, TheHighestQualifyingHeightIsTheOne) {
  // Chain at 300: 105 and 200 were both passed; the newest the operator asked for counts.
  EXPECT_EQ(scheduled_halt({105, 200, 400}, exited(false, std::nullopt, 300)), 200u);
  // A clean halt at its own height names that switch, even above what was last seen.
  EXPECT_EQ(scheduled_halt({105, 200, 400}, exited(true, 400, 150)), 400u);
  EXPECT_EQ(scheduled_halt({105, 200, 400}, exited(true, 200, 50)), 200u);
  EXPECT_FALSE(scheduled_halt({105, 200, 400}, exited(true, 300, 50)).has_value());
}

TEST(ScheduledHalt, HeightZeroAndTheLargestHeightDoNotOverflow) {
  EXPECT_EQ(scheduled_halt({0}, exited(false, std::nullopt, 0)), 0u);
  const std::uint64_t top = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(scheduled_halt({top}, exited(false, std::nullopt, top - 1)), top);
  EXPECT_FALSE(scheduled_halt({top}, exited(false, std::nullopt, top - 2)).has_value());
  EXPECT_EQ(scheduled_halt({105}, exited(false, std::nullopt, top)), 105u);
}

}  // namespace
}  // namespace visor
