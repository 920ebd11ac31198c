#include "visor/sources/vega_history.h"

#include <nlohmann/json.hpp>

#include "visor/common/command_line.h"
#include "visor/common/outside_text.h"
#include "visor/process/captured_run.h"
#include "visor/sources/json_fields.h"

namespace visor {
namespace {

// The reply is a flat object two levels deep; anything nested deeper is not a reply of vega.
constexpr int kMaxDepth = 8;
constexpr std::size_t kMaxOutput = 64 * 1024;

}  // namespace

std::optional<std::size_t> vega_datanode_index(const Options& options) {
  for (std::size_t index = 0; index < options.children.size(); ++index) {
    if (is_vega_datanode(options.children[index])) return index;
  }
  return std::nullopt;
}

std::string home_argument(const ChildSpec& child) {
  for (std::size_t index = 1; index < child.command.size(); ++index) {
    const std::string& word = child.command[index];
    if (word == "--home" && index + 1 < child.command.size()) return child.command[index + 1];
    if (word.rfind("--home=", 0) == 0) return word.substr(7);
  }
  return {};
}

bool needs_history_segment(const Options& options, std::size_t index, SpawnReason reason) {
  if (options.profile != "vega" || index >= options.children.size()) return false;
  const auto datanode = vega_datanode_index(options);
  if (!datanode || *datanode == index) return false;
  switch (reason) {
    case SpawnReason::restart:
    case SpawnReason::rollback:
      return true;
    case SpawnReason::first_start:
    case SpawnReason::upgrade:
      return false;
  }
  return false;
}

std::vector<std::string> history_segment_command(const std::string& vega_binary,
                                                 const ChildSpec& datanode) {
  std::vector<std::string> argv{
      vega_binary, "datanode", "network-history", "latest-history-segment", "--output", "json"};
  if (const std::string home = home_argument(datanode); !home.empty()) {
    argv.push_back("--home");
    argv.push_back(home);
  }
  return argv;
}

Result<std::uint64_t> parse_latest_history_segment(std::string_view output) {
  const std::string where = "latest history segment: ";
  if (output.empty()) return Result<std::uint64_t>::failure(where + "the command printed nothing");
  std::string error;
  const auto parsed = parse_outside_json(output, error, kMaxDepth);
  if (!parsed) return Result<std::uint64_t>::failure(where + error);
  const nlohmann::json& document = *parsed;
  if (!document.is_object() || !document.contains("latest_segment") ||
      document["latest_segment"].is_null()) {
    return Result<std::uint64_t>::failure(where + "the data node has no history segment");
  }
  const auto& segment = document["latest_segment"];
  if (!segment.is_object() || !segment.contains("to_height")) {
    return Result<std::uint64_t>::failure(where + "latest_segment has no to_height");
  }
  const auto height = json_unsigned(segment["to_height"]);
  if (!height) {
    return Result<std::uint64_t>::failure(where + "to_height is not a block height");
  }
  if (*height == 0) return Result<std::uint64_t>::failure(where + "the segment ends at height 0");
  return *height;
}

Result<std::uint64_t> latest_history_segment(const std::vector<std::string>& argv,
                                             Duration timeout) {
  const std::string described = join_command_line(argv);
  auto run = run_captured(argv, timeout, kMaxOutput);
  if (!run) return Result<std::uint64_t>::failure("latest history segment: " + run.error());
  if (run->timed_out) {
    return Result<std::uint64_t>::failure("latest history segment: " + described +
                                          " timed out after " + std::to_string(timeout.count()) +
                                          "ms");
  }
  if (!run->status || !run->status->exited() || run->status->code() != 0) {
    return Result<std::uint64_t>::failure(
        "latest history segment: " + described + " ended with " +
        (run->status ? run->status->describe() : std::string("an unknown status")) +
        (run->output.empty() ? "" : ": '" + outside_text(run->output, 160) + "'"));
  }
  if (run->truncated) {
    return Result<std::uint64_t>::failure("latest history segment: " + described +
                                          " printed more than " + std::to_string(kMaxOutput) +
                                          " bytes");
  }
  return parse_latest_history_segment(run->output);
}

CoreRestart core_restart_from(const Result<std::uint64_t>& segment) {
  if (!segment) {
    return {{}, segment.error() + "; starting the core without --snapshot.load-from-block-height"};
  }
  const std::string height = std::to_string(segment.value());
  return {{"--snapshot.load-from-block-height", height},
          "starting the core from the data node's latest history segment at height " + height};
}

}  // namespace visor
