#include "visor/ops/child_status.h"

#include <gtest/gtest.h>

namespace visor {
namespace {

LiveStatus two_children() {
  LiveStatus status;
  status.children = {{"core", LiveState::running, 4242, true, 1, 1000.0, "0.79.0"},
                     {"datanode", LiveState::backoff, 4243, false, 3, 900.0, "0.79.0"}};
  return status;
}

TEST(ChildStatus, StatusJsonHoldsEachChildWithThePromisedKeys) {
  const nlohmann::json children = children_to_json(two_children(), 1200.0);
  ASSERT_EQ(children.size(), 2U);
  EXPECT_EQ(children[0]["name"], "core");
  EXPECT_EQ(children[0]["pid"], 4242);
  EXPECT_EQ(children[0]["state"], "running");
  EXPECT_EQ(children[0]["restarts"], 1);
  EXPECT_EQ(children[0]["uptime_seconds"], 200.0);
  EXPECT_EQ(children[0]["version"], "0.79.0");
  EXPECT_EQ(children[1]["pid"], 0);  // not running: no stale pid
  EXPECT_EQ(children[1]["uptime_seconds"], 0.0);
}

TEST(ChildStatus, StatusMeasuresUptimeAgainAndKeepsOnlyThePromisedKeys) {
  const nlohmann::json stored = children_to_json(two_children(), 1200.0);
  const nlohmann::json shown = children_for_status(stored, 1500.0);
  ASSERT_EQ(shown.size(), 2U);
  EXPECT_EQ(shown[0]["uptime_seconds"], 500.0);
  EXPECT_FALSE(shown[0].contains("started_unixtime"));
  for (const char* key : {"name", "pid", "state", "restarts", "uptime_seconds", "version"})
    EXPECT_TRUE(shown[1].contains(key)) << key;
  // A damaged file yields what can be read, never an exception.
  const auto damaged =
      nlohmann::json::parse(R"([7, {"name": 3, "pid": "x", "restarts": -1}, {"name": "ok"}])");
  const nlohmann::json partial = children_for_status(damaged, 1500.0);
  ASSERT_EQ(partial.size(), 2U);
  EXPECT_EQ(partial[0]["name"], "");
  EXPECT_EQ(partial[0]["pid"], 0);
  EXPECT_EQ(partial[1]["name"], "ok");
  EXPECT_TRUE(children_for_status(nlohmann::json("nope"), 0).empty());
}

TEST(ChildStatus, TextHasOneLinePerChild) {
  const std::string text =
      render_children_text(children_for_status(children_to_json(two_children(), 1200.0), 1392.0));
  EXPECT_EQ(text,
            "child:    core running, pid 4242, up 6m32s, 1 restart, 0.79.0\n"
            "child:    datanode backoff, 3 restarts, 0.79.0\n");
}

}  // namespace
}  // namespace visor
