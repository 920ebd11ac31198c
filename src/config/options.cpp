#include "visor/config/options.h"

#include <algorithm>
#include <cctype>
#include <csignal>
#include <filesystem>

namespace visor {
namespace {

struct SignalEntry {
  const char* name;
  int number;
};

constexpr SignalEntry kSignals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
    {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"ALRM", SIGALRM},
    {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"PWR", SIGPWR},   {"WINCH", SIGWINCH},
    {"ABRT", SIGABRT}, {"SEGV", SIGSEGV}, {"PIPE", SIGPIPE}, {"CHLD", SIGCHLD}};

}  // namespace

std::string binary_name(const Options& options) {
  if (options.command.empty()) return {};
  return std::filesystem::path(options.command.front()).filename().string();
}

std::string binary_name(const ChildSpec& child) {
  if (child.command.empty()) return {};
  return std::filesystem::path(child.command.front()).filename().string();
}

std::vector<std::string> binary_names(const Options& options) {
  std::vector<std::string> names;
  for (const auto& child : options.children) {
    std::string name = binary_name(child);
    if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end())
      names.push_back(std::move(name));
  }
  if (names.empty() && !options.command.empty()) names.push_back(binary_name(options));
  return names;
}

bool valid_child_name(const std::string& name) {
  const auto allowed = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (!first && c == '-');
  };
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!allowed(name[i], i == 0)) return false;
  }
  return true;
}

std::string child_name_for_binary(const std::string& binary) {
  std::string name;
  for (const char c : binary) {
    const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool keep = (lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9');
    if (keep || !name.empty()) name.push_back(keep ? lower : '-');
  }
  return name.empty() ? "child" : name;
}

bool is_vega_datanode(const ChildSpec& child) {
  return child.command.size() >= 2 && binary_name(child) == "vega" &&
         child.command[1] == "datanode";
}

std::vector<std::string> upgrade_args_for(const Options& options, std::size_t index) {
  if (index >= options.children.size()) return options.upgrade_args;
  const ChildSpec& child = options.children[index];
  if (child.upgrade_args) return *child.upgrade_args;
  if (options.profile == "vega" && is_vega_datanode(child)) return {};
  return options.upgrade_args;
}

const std::string& ready_pattern_for(const Options& options, std::size_t index) {
  if (index < options.children.size() && !options.children[index].ready_pattern.empty())
    return options.children[index].ready_pattern;
  return options.ready_pattern;
}

const std::string& stdin_file_for(const Options& options, std::size_t index) {
  if (index < options.children.size() && !options.children[index].stdin_file.empty())
    return options.children[index].stdin_file;
  return options.stdin_file;
}

std::optional<int> parse_signal(const std::string& text) {
  if (text.empty()) return std::nullopt;
  if (std::all_of(text.begin(), text.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    if (text.size() > 3) return std::nullopt;
    const int number = std::stoi(text);
    if (number >= 1 && number < NSIG) return number;
    return std::nullopt;
  }
  std::string upper;
  for (const char c : text)
    upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (upper.rfind("SIG", 0) == 0) upper = upper.substr(3);
  for (const auto& entry : kSignals) {
    if (upper == entry.name) return entry.number;
  }
  return std::nullopt;
}

std::string signal_name(int signal_number) {
  for (const auto& entry : kSignals) {
    if (entry.number == signal_number) return entry.name;
  }
  return std::to_string(signal_number);
}

const char* to_string(SourceKind kind) {
  switch (kind) {
    case SourceKind::none:
      return "none";
    case SourceKind::lava:
      return "lava";
    case SourceKind::vega:
      return "vega";
    case SourceKind::cosmos:
      return "cosmos";
  }
  return "none";
}

const char* to_string(RestartPolicy policy) {
  switch (policy) {
    case RestartPolicy::on_failure:
      return "on-failure";
    case RestartPolicy::always:
      return "always";
    case RestartPolicy::never:
      return "never";
  }
  return "on-failure";
}

}  // namespace visor

namespace visor {

const char* to_string(GroupPolicy policy) {
  switch (policy) {
    case GroupPolicy::independent:
      return "independent";
    case GroupPolicy::together:
      return "together";
  }
  return "independent";
}

}  // namespace visor
