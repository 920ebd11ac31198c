#include "visor/ops/child_status.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace visor {
namespace {

double uptime(bool up, double started, double now) {
  return up && started > 0 ? std::max(0.0, std::floor(now - started)) : 0.0;
}

// "3d4h", "2h5m", "3m12s", "42s": the two largest units are enough to read at a glance.
std::string short_duration(double seconds) {
  // Bounded before the conversion (a double beyond the integer's range is undefined behaviour).
  auto total = static_cast<std::uint64_t>(std::clamp(seconds, 0.0, 1e12));
  const std::uint64_t days = total / 86400, hours = total / 3600 % 24, minutes = total / 60 % 60;
  total %= 60;
  if (days > 0) return std::to_string(days) + "d" + std::to_string(hours) + "h";
  if (hours > 0) return std::to_string(hours) + "h" + std::to_string(minutes) + "m";
  if (minutes > 0) return std::to_string(minutes) + "m" + std::to_string(total) + "s";
  return std::to_string(total) + "s";
}

// A field of a status.json entry of the expected type, else `fallback` (the file is ours, but a
// reader must not throw on a damaged one).
template <typename T>
T field(const nlohmann::json& entry, const char* key, T fallback) {
  const auto it = entry.find(key);
  if (it == entry.end()) return fallback;
  if constexpr (std::is_same_v<T, std::string>) {
    return it->is_string() ? it->template get<std::string>() : fallback;
  } else {
    return it->is_number() ? it->template get<T>() : fallback;
  }
}

}  // namespace

nlohmann::json children_to_json(const LiveStatus& status, double now_unixtime) {
  nlohmann::json children = nlohmann::json::array();
  for (const auto& child : status.children) {
    children.push_back({{"name", child.name},
                        {"pid", child.up ? child.pid : 0},
                        {"state", to_string(child.state)},
                        {"restarts", child.restarts},
                        {"uptime_seconds", uptime(child.up, child.started_unixtime, now_unixtime)},
                        {"version", child.version},
                        {"started_unixtime", child.up ? child.started_unixtime : 0.0}});
  }
  return children;
}

nlohmann::json children_for_status(const nlohmann::json& from_file, double now_unixtime) {
  nlohmann::json children = nlohmann::json::array();
  if (!from_file.is_array()) return children;
  for (const auto& entry : from_file) {
    if (!entry.is_object()) continue;
    const auto pid = field<std::int64_t>(entry, "pid", 0);
    const double started = field<double>(entry, "started_unixtime", 0.0);
    children.push_back({{"name", field<std::string>(entry, "name", "")},
                        {"pid", pid},
                        {"state", field<std::string>(entry, "state", "")},
                        {"restarts", field<std::uint64_t>(entry, "restarts", 0)},
                        {"uptime_seconds", uptime(pid > 0, started, now_unixtime)},
                        {"version", field<std::string>(entry, "version", "")}});
  }
  return children;
}

std::string render_children_text(const nlohmann::json& children) {
  std::string text;
  if (!children.is_array()) return text;
  for (const auto& child : children) {
    if (!child.is_object()) continue;
    const auto pid = field<std::int64_t>(child, "pid", 0);
    const auto restarts = field<std::uint64_t>(child, "restarts", 0);
    const std::string version = field<std::string>(child, "version", "");
    text += "child:    " + field<std::string>(child, "name", "?") + " " +
            field<std::string>(child, "state", "?");
    if (pid > 0) {
      text += ", pid " + std::to_string(pid) + ", up " +
              short_duration(field<double>(child, "uptime_seconds", 0.0));
    }
    text += ", " + std::to_string(restarts) + (restarts == 1 ? " restart" : " restarts");
    if (!version.empty()) text += ", " + version;
    text += "\n";
  }
  return text;
}

}  // namespace visor
