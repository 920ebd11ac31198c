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
