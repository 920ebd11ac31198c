#include "visor/ops/metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "prometheus_text_validator.h"
#include "visor/common/outside_text.h"

namespace visor {
namespace {

using testing::validate_prometheus_text;

std::string joined(const std::vector<std::string>& errors) {
  std::string text;
  for (const auto& error : errors) text += error + "\n";
  return text;
}

std::size_t count_lines_starting(const std::string& text, const std::string& prefix) {
  std::size_t count = 0;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    if (text.compare(at, prefix.size(), prefix) == 0) ++count;
    at = end + 1;
  }
  return count;
}

LiveStatus busy_status() {
  LiveStatus status;
  status.state = LiveState::running;
  status.binary = "lavap";
  status.current_version = "5.2.1";
  status.child_pid = 42;
  status.child_up = true;
  status.child_restarts_total = 3;
  status.upgrades_total = {{"success", 2}, {"rolled_back", 1}};
  status.source_errors_total = 4;
  status.source_polls_total = 100;
  status.source_poll_latency_seconds = 0.125;
  status.last_successful_poll_unixtime = 1700000000.5;
  status.download_bytes_total = 123456789012ULL;
  status.orphans_reaped_total = 7;
  status.started_unixtime = 1699999999.25;
  return status;
}

TEST(Metrics, TheDefaultStatusRendersValidText) {
  const auto parsed = validate_prometheus_text(render_metrics(LiveStatus{}));
  EXPECT_TRUE(parsed.errors.empty()) << joined(parsed.errors);
  EXPECT_EQ(parsed.value("visor_child_up"), 0);
}

TEST(Metrics, EveryPromisedFamilyIsThereWithItsType) {
  const auto parsed = validate_prometheus_text(render_metrics(busy_status()));
  ASSERT_TRUE(parsed.errors.empty()) << joined(parsed.errors);
  const std::map<std::string, std::string> expected{
      {"visor_child_up", "gauge"},
      {"visor_child_restarts_total", "counter"},
      {"visor_upgrades_total", "counter"},
      {"visor_version_info", "gauge"},
      {"visor_source_errors_total", "counter"},
      {"visor_source_polls_total", "counter"},
      {"visor_source_poll_latency_seconds", "gauge"},
      {"visor_last_successful_poll_timestamp_seconds", "gauge"},
      {"visor_download_bytes_total", "counter"},
      {"visor_orphans_reaped_total", "counter"},
      {"visor_start_time_seconds", "gauge"},
  };
  for (const auto& [family, type] : expected) {
    ASSERT_TRUE(parsed.types.count(family)) << family;
    EXPECT_EQ(parsed.types.at(family), type) << family;
    EXPECT_FALSE(parsed.help.at(family).empty()) << family;
  }
  EXPECT_EQ(parsed.value("visor_child_up"), 1);
  EXPECT_EQ(parsed.value("visor_child_restarts_total"), 3);
  EXPECT_EQ(parsed.value("visor_source_errors_total"), 4);
  EXPECT_EQ(parsed.value("visor_source_polls_total"), 100);
  EXPECT_EQ(parsed.value("visor_source_poll_latency_seconds"), 0.125);
  EXPECT_EQ(parsed.value("visor_last_successful_poll_timestamp_seconds"), 1700000000.5);
  EXPECT_EQ(parsed.value("visor_download_bytes_total"), 123456789012.0);
  EXPECT_EQ(parsed.value("visor_orphans_reaped_total"), 7);
  EXPECT_EQ(parsed.value("visor_start_time_seconds"), 1699999999.25);
  EXPECT_EQ(parsed.value("visor_version_info",
                         {{"current", "5.2.1"}, {"binary", "lavap"}, {"visor", VISOR_VERSION}}),
            1);
  EXPECT_EQ(parsed.value("visor_state", {{"state", "running"}}), 1);
  EXPECT_EQ(parsed.value("visor_state", {{"state", "backoff"}}), 0);
}

TEST(Metrics, UpgradeResultsAreAlwaysThereEvenAtZero) {
  const auto parsed = validate_prometheus_text(render_metrics(LiveStatus{}));
  for (const char* result : {"success", "failed", "rolled_back"}) {
    EXPECT_EQ(parsed.value("visor_upgrades_total", {{"result", result}}), 0) << result;
  }
  const auto busy = validate_prometheus_text(render_metrics(busy_status()));
  EXPECT_EQ(busy.value("visor_upgrades_total", {{"result", "success"}}), 2);
  EXPECT_EQ(busy.value("visor_upgrades_total", {{"result", "failed"}}), 0);
  EXPECT_EQ(busy.value("visor_upgrades_total", {{"result", "rolled_back"}}), 1);
}

TEST(Metrics, AnUnexpectedUpgradeResultIsStillReported) {
  LiveStatus status;
  status.upgrades_total["aborted"] = 5;
  const auto parsed = validate_prometheus_text(render_metrics(status));
  ASSERT_TRUE(parsed.errors.empty()) << joined(parsed.errors);
  EXPECT_EQ(parsed.value("visor_upgrades_total", {{"result", "aborted"}}), 5);
}

TEST(Metrics, EachStateIsOneSampleAndOnlyTheCurrentOneIsOne) {
  const std::vector<std::pair<LiveState, std::string>> states{
      {LiveState::starting, "starting"},   {LiveState::running, "running"},
      {LiveState::backoff, "backoff"},     {LiveState::stopping, "stopping"},
      {LiveState::upgrading, "upgrading"}, {LiveState::held, "held"},
      {LiveState::probation, "probation"}, {LiveState::rolling_back, "rolling_back"},
      {LiveState::exited, "exited"},
  };
  for (const auto& [state, name] : states) {
    LiveStatus status;
    status.state = state;
    const std::string text = render_metrics(status);
    const auto parsed = validate_prometheus_text(text);
    ASSERT_TRUE(parsed.errors.empty()) << joined(parsed.errors);
    EXPECT_EQ(count_lines_starting(text, "visor_state{"), states.size()) << text;
    for (const auto& [other, other_name] : states) {
      EXPECT_EQ(parsed.value("visor_state", {{"state", other_name}}), other == state ? 1 : 0)
          << name << " vs " << other_name;
    }
  }
}

TEST(Metrics, LabelValuesAreEscapedAndReadBackAsTheirOutsideTextExcerpt) {
  // A newline is outside text's "\n" escape first (two characters), then the backslash is
  // escaped for the format: a reader gets the two characters back, never a line break.
  EXPECT_EQ(escape_label_value(R"(a\b"c)"
                               "\nd"),
            R"(a\\b\"c\\nd)");
  EXPECT_EQ(escape_label_value("bad \xff byte"), "bad \xEF\xBF\xBD byte");
  EXPECT_LE(escape_label_value(std::string(10000, 'v')).size(),
            kMaxLabelBytes + kExcerptMarkerBytes);
  EXPECT_EQ(escape_label_value("plain 5.2.1-rc1"), "plain 5.2.1-rc1");
  LiveStatus status;
  status.current_version = "5.2.1\"}\\ evil\nnext_line 1";
  status.binary = "la{v}ap=,";
  const std::string text = render_metrics(status);
  const auto parsed = validate_prometheus_text(text);
  ASSERT_TRUE(parsed.errors.empty()) << joined(parsed.errors) << text;
  EXPECT_EQ(parsed.value("visor_version_info", {{"current", R"(5.2.1"}\ evil\nnext_line 1)"},
                                                {"binary", status.binary},
                                                {"visor", VISOR_VERSION}}),
            1);
  EXPECT_EQ(text.find("next_line 1\n"), std::string::npos);  // no injected sample line
}

TEST(Metrics, ValuesAreFormattedAsPrometheusReadsThem) {
  EXPECT_EQ(format_sample_value(0), "0");
  EXPECT_EQ(format_sample_value(42), "42");
  EXPECT_EQ(format_sample_value(0.125), "0.125");
  EXPECT_EQ(format_sample_value(18446744073709551615.0), "18446744073709551616");
  EXPECT_EQ(format_sample_value(1e300), "1e+300");
  EXPECT_EQ(format_sample_value(std::nan("")), "NaN");
  EXPECT_EQ(format_sample_value(HUGE_VAL), "+Inf");
  EXPECT_EQ(format_sample_value(-HUGE_VAL), "-Inf");
  double back = 0;
  ASSERT_TRUE(testing::parse_prometheus_value(format_sample_value(1700000000.123456), back));
  EXPECT_EQ(back, 1700000000.123456);
}

TEST(Metrics, TheChainAndItsScheduledPlanAreShownWhenANodeIsRead) {
  const auto without = validate_prometheus_text(render_metrics(LiveStatus{}));
  EXPECT_FALSE(without.value("visor_chain_height").has_value());
  EXPECT_EQ(without.types.count("visor_upgrade_scheduled_height"), 0u);

  LiveStatus status;
  status.network.chain_id = "simapp-1";
  status.network.chain_height = 1200;
  status.network.plan = ScheduledPlan{"v2.0.0", 1234, "2.0.0"};
  status.plan_staged = true;
  const auto parsed = validate_prometheus_text(render_metrics(status));
  ASSERT_TRUE(parsed.errors.empty()) << joined(parsed.errors);
  EXPECT_EQ(parsed.types.at("visor_chain_height"), "gauge");
  EXPECT_EQ(parsed.value("visor_chain_height"), 1200);
  EXPECT_EQ(parsed.value("visor_upgrade_scheduled_height", {{"plan", "v2.0.0"}}), 1234);
  EXPECT_EQ(parsed.value("visor_upgrade_staged", {{"plan", "v2.0.0"}}), 1);
  status.plan_staged = false;
  EXPECT_EQ(validate_prometheus_text(render_metrics(status))
                .value("visor_upgrade_staged", {{"plan", "v2.0.0"}}),
            0);
}

// The validator must catch what it claims to catch, or the tests above prove nothing.
TEST(PrometheusTextValidator, RejectsBrokenExpositions) {
  const auto errors_of = [](const std::string& text) {
    return validate_prometheus_text(text).errors.size();
  };
  EXPECT_EQ(errors_of("# HELP a_total x\n# TYPE a_total counter\na_total 1\n"), 0u);
  EXPECT_GT(errors_of("a_total 1\n"), 0u);                                   // no HELP/TYPE
  EXPECT_GT(errors_of("# TYPE a gauge\na 1\n"), 0u);                         // no HELP
  EXPECT_GT(errors_of("# HELP a x\n# TYPE a gauge\na one\n"), 0u);           // bad value
  EXPECT_GT(errors_of("# HELP 1a x\n# TYPE 1a gauge\n1a 1\n"), 0u);          // bad name
  EXPECT_GT(errors_of("# HELP a x\n# TYPE a gauge\na{l=\"\\x\"} 1\n"), 0u);  // bad escape
  EXPECT_GT(errors_of("# HELP a x\n# TYPE a gauge\na{l=\"v} 1\n"), 0u);      // unterminated
  EXPECT_GT(errors_of("# HELP a x\n# TYPE a gauge\na 1\na 2\n"), 0u);        // repeated sample
  EXPECT_GT(errors_of("# HELP a x\n# TYPE a gauge\n# HELP b x\n# TYPE b gauge\nb 1\na 1\n"), 0u);
  EXPECT_GT(errors_of("# HELP a x\n# TYPE a gauge\na 1"), 0u);  // no final newline
}

LiveStatus set_status() {
  LiveStatus status = busy_status();
  status.children = {{"core", LiveState::running, 10, true, 2, 1700000000.0, "0.79.0"},
                     {"data-node", LiveState::backoff, 0, false, 5, 0, "0.79.0"}};
  return status;
}

TEST(Metrics, EachChildOfASetHasItsOwnLabelledSamples) {
  const auto parsed = validate_prometheus_text(render_metrics(set_status(), 1700000090.5));
  ASSERT_TRUE(parsed.errors.empty()) << joined(parsed.errors);
  EXPECT_EQ(parsed.value("visor_child_up", {{"child", "core"}}), 1);
  EXPECT_EQ(parsed.value("visor_child_up", {{"child", "data-node"}}), 0);
  EXPECT_EQ(parsed.value("visor_child_restarts_total", {{"child", "core"}}), 2);
  EXPECT_EQ(parsed.value("visor_child_restarts_total", {{"child", "data-node"}}), 5);
  EXPECT_EQ(parsed.types.at("visor_child_uptime_seconds"), "gauge");
  EXPECT_EQ(parsed.value("visor_child_uptime_seconds", {{"child", "core"}}), 90.5);
  EXPECT_EQ(parsed.value("visor_child_uptime_seconds", {{"child", "data-node"}}), 0);
  EXPECT_FALSE(parsed.value("visor_child_up").has_value());  // no unlabelled sample in a set
}

}  // namespace
}  // namespace visor
