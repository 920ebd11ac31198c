#include "visor/store/state_file.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <filesystem>

#include "visor/common/files.h"
#include "visor/common/outside_text.h"

namespace visor {

using nlohmann::json;

std::string render_state(const StoreState& state) {
  json document = json::object();
  document["current"] = state.current;
  document["previous"] = state.previous;
  document["staged"] = state.staged;
  document["failed"] = state.failed;
  if (state.pending) {
    json pending = {
        {"version", state.pending->version}, {"from_version", state.pending->from_version},
        {"plan", state.pending->plan},       {"stage", state.pending->stage},
        {"url", state.pending->url},         {"sha256", state.pending->sha256}};
    pending["height"] = state.pending->height ? json(*state.pending->height) : json(nullptr);
    document["pending"] = pending;
  } else {
    document["pending"] = nullptr;
  }
  document["plans"] = state.plans;
  document["done_plans"] = state.done_plans;
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
    if (document.contains("done_plans")) {
      state.done_plans = document.at("done_plans").get<std::vector<std::string>>();
    }
    if (document.contains("pending") && document.at("pending").is_object()) {
      const json& pending = document.at("pending");
      PendingUpgrade upgrade;
      upgrade.version = pending.value("version", "");
      upgrade.from_version = pending.value("from_version", "");
      upgrade.plan = pending.value("plan", "");
      upgrade.stage = pending.value("stage", "downloading");
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
