#include "visor/common/suggest.h"

#include <gtest/gtest.h>

namespace visor {
namespace {

TEST(Suggest, FindsTheClosestNameOrNone) {
  const std::vector<std::string> names{"lava-rest", "lava-role", "stop-timeout", "wrap", "check"};
  EXPECT_EQ(closest_name("lava-rst", names), "lava-rest");
  EXPECT_EQ(closest_name("lava_rest", names), "lava-rest");  // `_` and `-` are the same
  EXPECT_EQ(closest_name("LAVA-ROLE", names), "lava-role");  // case is ignored
  EXPECT_EQ(closest_name("wrpa", names), "wrap");            // a swap is one edit
  EXPECT_EQ(closest_name("frobnicate", names), "");          // nothing plausible
  EXPECT_EQ(did_you_mean("chek", names), " (did you mean 'check'?)");
  EXPECT_EQ(did_you_mean("stop-timout", names, "--"), " (did you mean '--stop-timeout'?)");
  EXPECT_EQ(did_you_mean("zzzzzzzz", names), "");
}

}  // namespace
}  // namespace visor
