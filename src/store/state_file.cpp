#include "visor/store/state_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>

#include "visor/common/files.h"
#include "visor/common/outside_text.h"

namespace visor {

using nlohmann::json;

namespace {

PendingStage pending_stage(const std::string& text) {
  if (text == "switching") return PendingStage::switching;
  if (text == "staged") return PendingStage::staged;
  return PendingStage::downloading;
}

// {"name": "v2", "height": 12}; a state.json of an earlier visor kept "name@height" strings.
DonePlan done_plan(const json& entry) {
  DonePlan plan;
  if (entry.is_object()) {
    plan.name = entry.value("name", "");
    if (entry.contains("height") && entry.at("height").is_number_unsigned())
      plan.height = entry.at("height").get<std::uint64_t>();
    return plan;
  }
  const std::string text = entry.get<std::string>();
  const auto at = text.rfind('@');
  plan.name = text.substr(0, at);
  if (at != std::string::npos) {
    try {
      plan.height = std::stoull(text.substr(at + 1));
    } catch (const std::exception&) {
      plan.height.reset();  // "name@?": a plan without a height
    }
  }
  return plan;
}

// One field: this process's value when it changed it, else the one on disk.
template <typename Value>
Value merged_value(const Value& base, const Value& mine, const Value& disk) {
  return mine == base ? disk : mine;
}

// One map, key by key: the entries this process added, altered or removed since `base` are
// kept as it has them; every other key is as `disk` has it.
template <typename Map>
Map merged_map(const Map& base, const Map& mine, const Map& disk) {
  Map merged = disk;
  for (const auto& [key, value] : mine) {
    const auto before = base.find(key);
    if (before == base.end() || !(before->second == value)) merged[key] = value;
  }
  for (const auto& entry : base) {
    if (mine.count(entry.first) == 0) merged.erase(entry.first);
  }
  return merged;
}

// A list used as a set (done_plans), in the same way, in the order of `disk` then `mine`.
template <typename Item>
std::vector<Item> merged_list(const std::vector<Item>& base, const std::vector<Item>& mine,
                              const std::vector<Item>& disk) {
  const auto has = [](const std::vector<Item>& list, const Item& item) {
    return std::find(list.begin(), list.end(), item) != list.end();
  };
  std::vector<Item> merged;
  for (const auto& item : disk) {
    if (!has(base, item) || has(mine, item)) merged.push_back(item);
  }
  for (const auto& item : mine) {
    if (!has(base, item) && !has(merged, item)) merged.push_back(item);
  }
  return merged;
}

}  // namespace

StoreState merge_states(const StoreState& base, const StoreState& mine, const StoreState& disk) {
  StoreState merged;
  merged.current = merged_value(base.current, mine.current, disk.current);
  merged.previous = merged_value(base.previous, mine.previous, disk.previous);
  merged.staged = merged_value(base.staged, mine.staged, disk.staged);
  merged.failed = merged_map(base.failed, mine.failed, disk.failed);
  merged.pending = merged_value(base.pending, mine.pending, disk.pending);
  merged.plans = merged_map(base.plans, mine.plans, disk.plans);
  merged.done_plans = merged_list(base.done_plans, mine.done_plans, disk.done_plans);
  merged.sha256 = merged_map(base.sha256, mine.sha256, disk.sha256);
  merged.height_switches =
      merged_map(base.height_switches, mine.height_switches, disk.height_switches);
  return merged;
}

const char* to_string(PendingStage stage) {
  switch (stage) {
    case PendingStage::downloading:
      return "downloading";
    case PendingStage::staged:
      return "staged";
    case PendingStage::switching:
      return "switching";
  }
  return "downloading";
}

std::string render_state(const StoreState& state) {
  json document = json::object();
  document["current"] = state.current;
  document["previous"] = state.previous;
  document["staged"] = state.staged;
  document["failed"] = state.failed;
  if (state.pending) {
    json pending = {
        {"version", state.pending->version}, {"from_version", state.pending->from_version},
        {"plan", state.pending->plan},       {"stage", to_string(state.pending->stage)},
        {"url", state.pending->url},         {"sha256", state.pending->sha256}};
    pending["height"] = state.pending->height ? json(*state.pending->height) : json(nullptr);
    document["pending"] = pending;
  } else {
    document["pending"] = nullptr;
  }
  document["plans"] = state.plans;
  json done = json::array();
  for (const auto& plan : state.done_plans) {
    done.push_back(
        {{"name", plan.name}, {"height", plan.height ? json(*plan.height) : json(nullptr)}});
  }
  document["done_plans"] = done;
  document["sha256"] = state.sha256;
  json switches = json::object();  // JSON keys are strings: {"1234": "2.0.0"}
  for (const auto& [height, version] : state.height_switches)
    switches[std::to_string(height)] = version;
  document["height_switches"] = switches;
  return dump_json(document, 2) + "\n";
}

Result<StoreState> parse_state(const std::string& text) {
  StoreState state;
  std::string error;
  const auto parsed = parse_outside_json(text, error);
  if (!parsed) return Result<StoreState>::failure("state is not valid: " + error);
  try {
    const json& document = *parsed;
    if (!document.is_object()) return Result<StoreState>::failure("state is not a JSON object");
    state.current = document.value("current", "");
    state.previous = document.value("previous", "");
    if (document.contains("staged"))
      state.staged = document.at("staged").get<std::vector<std::string>>();
    if (document.contains("failed")) {
      state.failed = document.at("failed").get<std::map<std::string, std::string>>();
    }
    if (document.contains("plans"))
      state.plans = document.at("plans").get<std::map<std::string, std::string>>();
    if (document.contains("height_switches")) {
      for (const auto& [height, version] :
           document.at("height_switches").get<std::map<std::string, std::string>>()) {
        std::uint64_t number = 0;
        const char* end = height.data() + height.size();
        const auto [stop, error] = std::from_chars(height.data(), end, number);
        if (height.empty() || error != std::errc() || stop != end) {
          return Result<StoreState>::failure("height_switches: '" + height +
                                             "' is not a block height");
        }
        state.height_switches[number] = version;
      }
    }
    if (document.contains("done_plans")) {
      for (const json& entry : document.at("done_plans"))
        state.done_plans.push_back(done_plan(entry));
    }
    if (document.contains("sha256"))
      state.sha256 = document.at("sha256").get<std::map<std::string, std::string>>();
    if (document.contains("pending") && document.at("pending").is_object()) {
      const json& pending = document.at("pending");
      PendingUpgrade upgrade;
      upgrade.version = pending.value("version", "");
      upgrade.from_version = pending.value("from_version", "");
      upgrade.plan = pending.value("plan", "");
      upgrade.stage = pending_stage(pending.value("stage", "downloading"));
      upgrade.url = pending.value("url", "");
      upgrade.sha256 = pending.value("sha256", "");
      if (pending.contains("height") && pending.at("height").is_number_unsigned()) {
        upgrade.height = pending.at("height").get<std::uint64_t>();
      }
      if (!upgrade.version.empty()) state.pending = upgrade;
    }
  } catch (const json::exception& failure) {
    return Result<StoreState>::failure(std::string("state is not valid: ") + failure.what());
  }
  return state;
}

Result<StoreState> load_state(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) return StoreState{};
  auto text = read_small_file(path, 16 << 20);
  if (!text) return Result<StoreState>::failure(text.error());
  auto state = parse_state(text.value());
  if (!state) return Result<StoreState>::failure(path + ": " + state.error());
  return state;
}

Status save_state(const std::string& path, const StoreState& state) {
  return write_file_atomic(path, render_state(state));
}

}  // namespace visor
