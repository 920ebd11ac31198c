// Durations as operators write them: "500ms", "2s", "5m", "1h", or sums such as "1m30s".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "visor/common/clock.h"

namespace visor {

/// Parses a duration. Units: ms, s, m, h; parts may be chained ("1h30m"). A bare "0" is zero.
/// Returns nullopt and sets `error` (when given) for anything else, including negative values
/// and values beyond 100 days.
std::optional<Duration> parse_duration(std::string_view text, std::string* error = nullptr);

/// Parses a duration as Go's time.ParseDuration writes it for ms, s, m and h, decimal fractions
/// included ("1.5s", "1m30.5s"; truncated to whole milliseconds): Cosmovisor's DAEMON_*
/// durations. Errors as parse_duration.
std::optional<Duration> parse_go_duration(std::string_view text, std::string* error = nullptr);

/// Formats a duration exactly, the way parse_duration reads it, e.g. 90500ms -> "1m30s500ms".
std::string format_duration(Duration duration);

}  // namespace visor
