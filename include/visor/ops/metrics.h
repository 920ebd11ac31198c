// visor's Prometheus metrics: the text exposition format (version 0.0.4) rendered from a
// LiveStatus snapshot. Every family carries `# HELP` and `# TYPE`; `promtool check metrics` is
// clean.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "visor/common/live_status.h"

namespace visor {

/// The Content-Type of render_metrics' output.
inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

/// The upgrade results that visor_upgrades_total always reports, even at 0.
inline constexpr const char* kUpgradeResults[] = {"success", "failed", "rolled_back"};

/// Renders every visor metric family from `status` in the Prometheus text format.
std::string render_metrics(const LiveStatus& status);
/// The same, with the wall-clock time the per-child uptimes are measured to (for tests).
std::string render_metrics(const LiveStatus& status, double now_unixtime);

/// The longest label value, in bytes, before the format's escapes.
inline constexpr std::size_t kMaxLabelBytes = 256;

/// Escapes a label value for the text format after passing it through outside_text() (valid
/// UTF-8, control characters written as escapes such as `\n`, at most kMaxLabelBytes): then
/// `\` -> `\\`, `"` -> `\"`.
std::string escape_label_value(std::string_view value);

/// Formats a sample value: integers without a fraction, NaN as `NaN`, infinities as `+Inf`/`-Inf`,
/// everything else in the shortest form that reads back as the same double.
std::string format_sample_value(double value);

}  // namespace visor
