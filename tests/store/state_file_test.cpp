#include "visor/store/state_file.h"

#include <gtest/gtest.h>

namespace visor {
namespace {

TEST(StateFile, RoundTripsEveryField) {
  StoreState state;
  state.current = "5.3.0";
  state.previous = "5.2.1";
  state.staged = {"5.2.1", "5.4.0-rc.1"};
  state.failed = {{"5.3.1", "exited with exit code 1 after 2000ms"}};
  state.pending = PendingUpgrade{"5.4.0",
                                 "5.3.0",
                                 123456789012ULL,
                                 "v5.4.0",
                                 PendingStage::switching,
                                 "https://mirror/simd?checksum=sha256:ab",
                                 "ab"};
  state.plans = {{"gov-upgrade-2", "2.0.0"}};
  state.done_plans = {{"v1.1.0", 100}, {"gov-upgrade", std::nullopt}};
  state.height_switches = {{1234, "5.4.0"}, {18446744073709551615ULL, "9.0.0"}};
  auto parsed = parse_state(render_state(state));
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(parsed->current, "5.3.0");
  EXPECT_EQ(parsed->previous, "5.2.1");
  EXPECT_EQ(parsed->staged, state.staged);
  EXPECT_EQ(parsed->failed, state.failed);
  ASSERT_TRUE(parsed->pending.has_value());
  EXPECT_EQ(parsed->pending->version, "5.4.0");
  EXPECT_EQ(parsed->pending->from_version, "5.3.0");
  EXPECT_EQ(parsed->pending->height, 123456789012ULL);
  EXPECT_EQ(parsed->pending->plan, "v5.4.0");
  EXPECT_EQ(parsed->pending->stage, PendingStage::switching);
  EXPECT_EQ(parsed->pending->url, "https://mirror/simd?checksum=sha256:ab");
  EXPECT_EQ(parsed->pending->sha256, "ab");
  EXPECT_EQ(parsed->plans, state.plans);
  EXPECT_EQ(parsed->done_plans, state.done_plans);
  EXPECT_EQ(parsed->height_switches, state.height_switches);
  EXPECT_FALSE(parse_state(R"({"height_switches": {"12a": "1.0.0"}})").ok());
}

TEST(StateFile, NoPendingIsNull) {
  StoreState state;
  state.current = "1.0.0";
  const std::string text = render_state(state);
  EXPECT_NE(text.find("\"pending\": null"), std::string::npos) << text;
  auto parsed = parse_state(text);
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->pending.has_value());
}

TEST(StateFile, GarbageIsAClearError) {
  for (const char* bad : {"", "{", "[]", R"({"failed": 3})"}) {
    auto parsed = parse_state(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    EXPECT_FALSE(parsed.error().empty());
  }
}

// The daemon and `visor add-upgrade` both rewrite state.json; each keeps what it changed since it
// last read the file and takes everything else from the file as the other left it.
TEST(StateFile, MergeKeepsWhatEachWriterChanged) {
  StoreState base;  // what both read
  base.current = "1.0.0";
  base.plans = {{"old-plan", "1.0.0"}};
  base.sha256 = {{"1.0.0", "aa"}, {"2.0.0", "bb"}};
  base.height_switches = {{105, "2.0.0"}};
  base.failed = {{"2.0.0", "exited"}};
  StoreState daemon = base;  // switched, took the due switch, set 3.0.0 pending
  daemon.current = "2.0.0";
  daemon.previous = "1.0.0";
  daemon.height_switches.erase(105);
  daemon.pending = PendingUpgrade{"3.0.0", "2.0.0", 110, "", PendingStage::staged, "", ""};
  daemon.done_plans = {{"old-plan", 100}};
  StoreState operator_ = base;  // add-upgrade: a plan, a switch, a replaced binary
  operator_.plans["new-plan"] = "4.0.0";
  operator_.height_switches[120] = "4.0.0";
  operator_.sha256["2.0.0"] = "cc";
  operator_.sha256["4.0.0"] = "dd";
  operator_.failed.erase("2.0.0");  // --force: a new binary is not the one that failed

  // add-upgrade writes first; the daemon merges it into its save.
  const StoreState daemon_writes = merge_states(base, daemon, operator_);
  // The daemon writes first; add-upgrade merges it into its save.
  const StoreState operator_writes = merge_states(base, operator_, daemon);
  for (const StoreState* merged : {&daemon_writes, &operator_writes}) {
    EXPECT_EQ(merged->current, "2.0.0");
    EXPECT_EQ(merged->previous, "1.0.0");
    EXPECT_EQ(merged->pending, daemon.pending);
    EXPECT_EQ(merged->done_plans, daemon.done_plans);
    EXPECT_EQ(merged->plans,
              (std::map<std::string, std::string>{{"old-plan", "1.0.0"}, {"new-plan", "4.0.0"}}));
    // The switch carried out stays gone; the new one is there.
    EXPECT_EQ(merged->height_switches, (std::map<std::uint64_t, std::string>{{120, "4.0.0"}}));
    EXPECT_EQ(merged->sha256, (std::map<std::string, std::string>{
                                  {"1.0.0", "aa"}, {"2.0.0", "cc"}, {"4.0.0", "dd"}}));
    EXPECT_TRUE(merged->failed.empty());
  }
  // Unchanged by either: the file as it is.
  EXPECT_EQ(render_state(merge_states(base, base, daemon)), render_state(daemon));
  EXPECT_EQ(render_state(merge_states(base, daemon, base)), render_state(daemon));
}

TEST(StateFile, MissingFileIsAnEmptyState) {
  auto loaded = load_state("/nonexistent/visor/state.json");
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->current.empty());
}

}  // namespace
}  // namespace visor
