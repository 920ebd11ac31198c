// The children of a service set in `visor status`: the daemon writes them into status.json,
// and `visor status` prints them (JSON: "children": [{"name", "pid", "state", "restarts",
// "uptime_seconds", "version"}]; text: one line per child).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "visor/common/live_status.h"

namespace visor {

/// The "children" array for status.json, uptimes measured to `now_unixtime`; each entry also
/// keeps "started_unixtime" so that a reader can measure the uptime again later.
nlohmann::json children_to_json(const LiveStatus& status, double now_unixtime);

/// The "children" array `visor status --json` prints, from the one status.json holds (anything
/// else yields an empty array): the promised keys only, uptimes measured again to
/// `now_unixtime`; entries that are not objects are skipped.
nlohmann::json children_for_status(const nlohmann::json& from_file, double now_unixtime);

/// One line per child for `visor status`: "child:    core running, pid 42, up 3m12s, 2
/// restarts, 0.79.0".
std::string render_children_text(const nlohmann::json& children);

}  // namespace visor
