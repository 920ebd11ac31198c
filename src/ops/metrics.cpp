#include "visor/ops/metrics.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "visor/common/clock.h"
#include "visor/common/outside_text.h"

namespace visor {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

// HELP text escapes only backslash and newline (the format's rule for docstrings).
std::string escape_help(std::string_view text) {
  std::string escaped;
  for (const char c : text) {
    if (c == '\\') {
      escaped += "\\\\";
    } else if (c == '\n') {
      escaped += "\\n";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

// Writes one family: the HELP and TYPE lines, then its samples. Families are written whole so
// that no sample can appear before its metadata.
class Exposition {
 public:
  void family(const char* name, const char* type, const char* help) {
    text_ += "# HELP ";
    text_ += name;
    text_ += ' ';
    text_ += escape_help(help);
    text_ += "\n# TYPE ";
    text_ += name;
    text_ += ' ';
    text_ += type;
    text_ += '\n';
  }
  void sample(const char* name, double value, const Labels& labels = {}) {
    text_ += name;
    if (!labels.empty()) {
      text_ += '{';
      bool first = true;
      for (const auto& [key, label_value] : labels) {
        if (!first) text_ += ',';
        first = false;
        text_ += key;
        text_ += "=\"";
        text_ += escape_label_value(label_value);
        text_ += '"';
      }
      text_ += '}';
    }
    text_ += ' ';
    text_ += format_sample_value(value);
    text_ += '\n';
  }
  // A family with one unlabelled sample.
  void single(const char* name, const char* type, const char* help, double value) {
    family(name, type, help);
    sample(name, value);
  }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

}  // namespace

std::string escape_label_value(std::string_view value) {
  // Outside text first (valid UTF-8, no control characters, bounded), then the format's escapes.
  const std::string safe = outside_text(value, kMaxLabelBytes);
  std::string escaped;
  escaped.reserve(safe.size());
  for (const char c : safe) {
    if (c == '\\') {
      escaped += "\\\\";
    } else if (c == '"') {
      escaped += "\\\"";
    } else if (c == '\n') {
      escaped += "\\n";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

std::string format_sample_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  std::array<char, 64> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return std::string(buffer.data(), result.ptr);
}

std::string render_metrics(const LiveStatus& status) {
  return render_metrics(status, unix_time_now());
}

std::string render_metrics(const LiveStatus& status, double now_unixtime) {
  const auto count = [](std::uint64_t value) { return static_cast<double>(value); };
  Exposition out;

  // Per-child families: one sample per child of the set, labelled child="NAME"; without a
  // list of children, one unlabelled sample for the one child.
  out.family("visor_child_up", "gauge",
             "Whether the supervised child process is up (1) or not (0), per child.");
  if (status.children.empty()) out.sample("visor_child_up", status.child_up ? 1 : 0);
  for (const auto& child : status.children)
    out.sample("visor_child_up", child.up ? 1 : 0, {{"child", child.name}});
  out.family("visor_child_restarts_total", "counter",
             "Restarts of the child after it crashed, since visor started, per child.");
  if (status.children.empty())
    out.sample("visor_child_restarts_total", count(status.child_restarts_total));
  for (const auto& child : status.children)
    out.sample("visor_child_restarts_total", count(child.restarts), {{"child", child.name}});
  if (!status.children.empty()) {
    out.family("visor_child_uptime_seconds", "gauge",
               "How long the child's current process has run; 0 while it is not running.");
    for (const auto& child : status.children) {
      const double uptime = child.up && child.started_unixtime > 0
                                ? std::max(0.0, now_unixtime - child.started_unixtime)
                                : 0.0;
      out.sample("visor_child_uptime_seconds", uptime, {{"child", child.name}});
    }
  }

  out.family("visor_state", "gauge",
             "The supervision state: 1 for the current state, 0 for every other one.");
  for (const LiveState state : kLiveStates)
    out.sample("visor_state", status.state == state ? 1 : 0, {{"state", to_string(state)}});

  out.family("visor_upgrades_total", "counter", "Upgrades of the managed binary, by result.");
  for (const char* result : kUpgradeResults) {
    const auto it = status.upgrades_total.find(result);
    out.sample("visor_upgrades_total", it == status.upgrades_total.end() ? 0 : count(it->second),
               {{"result", result}});
  }
  for (const auto& [result, total] : status.upgrades_total) {
    bool listed = false;
    for (const char* known : kUpgradeResults) listed = listed || result == known;
    if (!listed) out.sample("visor_upgrades_total", count(total), {{"result", result}});
  }

  out.single("visor_upgrade_in_progress", "gauge",
             "Whether an upgrade is being downloaded, verified or switched to (1) or not (0).",
             status.upgrade_in_progress ? 1 : 0);

  out.family("visor_version_info", "gauge",
             "Always 1; the labels name the running version of the managed binary and of visor.");
  out.sample(
      "visor_version_info", 1,
      {{"current", status.current_version}, {"binary", status.binary}, {"visor", VISOR_VERSION}});

  out.single("visor_source_errors_total", "counter",
             "Failed polls of the upgrade source (unreachable, timed out or garbled reply).",
             count(status.source_errors_total));
  out.single("visor_source_polls_total", "counter", "Polls of the upgrade source, failed or not.",
             count(status.source_polls_total));
  out.single("visor_source_poll_latency_seconds", "gauge",
             "How long the last poll of the upgrade source took.",
             status.source_poll_latency_seconds);
  out.single("visor_last_successful_poll_timestamp_seconds", "gauge",
             "Unix time of the last successful poll of the upgrade source; 0 before the first.",
             status.last_successful_poll_unixtime);
  out.single("visor_download_bytes_total", "counter", "Bytes of upgrade artifacts downloaded.",
             count(status.download_bytes_total));
  out.single("visor_orphans_reaped_total", "counter",
             "Orphaned processes visor reaped as PID 1 or subreaper.",
             count(status.orphans_reaped_total));
  // The chain, as a source reading a node (--node) sees it; absent without one.
  if (status.network.chain_height) {
    out.single("visor_chain_height", "gauge",
               "The latest block height of the node given by --node.",
               count(*status.network.chain_height));
  }
  if (status.network.plan) {
    const Labels plan = {{"plan", status.network.plan->name}};
    out.family("visor_upgrade_scheduled_height", "gauge",
               "The block height at which the chain's scheduled upgrade plan halts it.");
    out.sample("visor_upgrade_scheduled_height", count(status.network.plan->height), plan);
    out.family("visor_upgrade_staged", "gauge",
               "Whether the scheduled plan's binary is verified and staged (1) or not (0).");
    out.sample("visor_upgrade_staged", status.plan_staged ? 1 : 0, plan);
  }
  out.single("visor_start_time_seconds", "gauge", "Unix time at which visor started.",
             status.started_unixtime);
  return out.take();
}

}  // namespace visor
