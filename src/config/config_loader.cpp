#include "visor/config/config_loader.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <filesystem>
#include <limits>
#include <optional>
#include <set>

#include "visor/common/command_line.h"
#include "visor/common/files.h"
#include "visor/common/line_matcher.h"
#include "visor/common/outside_text.h"
#include "visor/common/suggest.h"
#include "visor/config/duration.h"

namespace visor {
namespace {

using Setter = bool (*)(Options&, const std::string&, std::string& error);

struct OptionRule {
  OptionSpec spec;
  Setter set;
};

bool set_duration(Duration& target, const std::string& value, std::string& error) {
  auto parsed = parse_duration(value, &error);
  if (!parsed) return false;
  target = *parsed;
  return true;
}

bool set_bool(bool& target, const std::string& value, std::string& error) {
  std::string lower;
  for (const char c : value)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") {
    target = true;
  } else if (lower == "false" || lower == "0" || lower == "no" || lower == "off") {
    target = false;
  } else {
    error = "expected true or false, got '" + value + "'";
    return false;
  }
  return true;
}

bool set_words(std::vector<std::string>& target, const std::string& value, std::string& error) {
  auto words = split_command_line(value);
  if (!words) {
    error = words.error();
    return false;
  }
  target = std::move(words).value();
  return true;
}

// Checks a split command line: it has words, and its first names a binary file (the store keeps
// that binary under its last path component, so a word like "/usr/bin/", "." or ".." names
// none).
bool check_command(const std::vector<std::string>& words, std::string& error) {
  if (words.empty()) {
    error = "the command line is empty";
    return false;
  }
  const std::string name = std::filesystem::path(words.front()).filename().string();
  if (name.empty() || name == "." || name == "..") {
    error = "the first word '" + outside_text(words.front()) +
            "' names no binary (a program name or the path of a file)";
    return false;
  }
  return true;
}

bool set_count(int& target, const std::string& value, std::string& error) {
  if (value.empty() || value.size() > 9 ||
      value.find_first_not_of("0123456789") != std::string::npos) {
    error = "expected a whole number, got '" + value + "'";
    return false;
  }
  target = std::stoi(value);
  return true;
}

bool set_size(std::uint64_t& target, const std::string& value, std::string& error) {
  // Accepts a byte count with an optional K, M or G suffix (binary multiples).
  std::string digits = value;
  std::uint64_t multiplier = 1;
  if (!digits.empty()) {
    const char unit = static_cast<char>(std::toupper(static_cast<unsigned char>(digits.back())));
    if (unit == 'K' || unit == 'M' || unit == 'G') {
      multiplier = unit == 'K' ? 1ULL << 10 : unit == 'M' ? 1ULL << 20 : 1ULL << 30;
      digits.pop_back();
    }
  }
  if (digits.empty() || digits.size() > 12 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    error = "expected a size such as 512M or 2G, got '" + value + "'";
    return false;
  }
  const std::uint64_t number = std::stoull(digits);
  if (number > std::numeric_limits<std::uint64_t>::max() / multiplier) {
    error = "size '" + value + "' is too large";
    return false;
  }
  target = number * multiplier;
  return true;
}

// The one check of a --ready-pattern, for the set's and for each child's.
bool check_ready_pattern(const std::string& value, std::string& error) {
  // The same engine and options as the supervisor's matcher.
  const std::string problem = line_pattern_error(value);
  if (problem.empty()) return true;
  error = "invalid regular expression (RE2 syntax): " + problem;
  return false;
}

template <typename Enum, size_t N>
bool set_enum(Enum& target, const std::string& value,
              const std::pair<const char*, Enum> (&choices)[N], std::string& error) {
  std::string names;
  for (const auto& [name, choice] : choices) {
    if (value == name) {
      target = choice;
      return true;
    }
    names += names.empty() ? name : std::string("|") + name;
  }
  error = "expected " + names + ", got '" + value + "'";
  return false;
}

const std::vector<OptionRule>& rules() {
  static const std::vector<OptionRule> kRules = {
      {{"cmd", "", "the child's command line (split like a POSIX shell, run without one)"},
       [](Options& o, const std::string& v, std::string& e) {
         o.cmd = v;
         if (!set_words(o.command, v, e)) return false;
         if (check_command(o.command, e)) return true;
         o.command.clear();
         return false;
       }},
      // The children are assembled after the other options (assemble_children): the setter
      // only keeps the flag in the table of names, help and environment variables.
      {{"child", "", "NAME=COMMAND: one child of a service set; repeatable; instead of --cmd",
        false, true},
       [](Options&, const std::string&, std::string&) { return true; }},
      {{"group", "independent",
        "how the children of a set restart: independent|together (together with profile vega)"},
       [](Options& o, const std::string& v, std::string& e) {
         static const std::pair<const char*, GroupPolicy> kChoices[] = {
             {"independent", GroupPolicy::independent}, {"together", GroupPolicy::together}};
         return set_enum(o.group, v, kChoices, e);
       }},
      {{"home", "", "the binary store and state (default $HOME/.visor)"},
       [](Options& o, const std::string& v, std::string&) {
         o.home = v;
         return true;
       }},
      {{"config", "", "JSON config file (default <home>/config.json when it exists)"},
       [](Options& o, const std::string& v, std::string&) {
         o.config_file = v;
         return true;
       }},
      {{"profile", "", "preset for a network: lava-provider, lava-consumer, vega, cosmos"},
       [](Options& o, const std::string& v, std::string& e) {
         o.profile = v;
         if (profile_values(v).empty()) {
           std::string names;
           for (const auto& name : profile_names()) names += (names.empty() ? "" : "|") + name;
           e = "unknown profile '" + v + "' (expected " + names + ")";
           return false;
         }
         return true;
       }},
      {{"source", "none", "where upgrade signals come from: lava|vega|cosmos|none"},
       [](Options& o, const std::string& v, std::string& e) {
         static const std::pair<const char*, SourceKind> kChoices[] = {
             {"lava", SourceKind::lava},
             {"vega", SourceKind::vega},
             {"cosmos", SourceKind::cosmos},
             {"none", SourceKind::none}};
         return set_enum(o.source, v, kChoices, e);
       }},
      {{"poll-interval", "", "how often the source is asked (lava 15s, vega 1s, cosmos 1s)"},
       [](Options& o, const std::string& v, std::string& e) {
         if (!set_duration(o.poll_interval, v, e)) return false;
         if (o.poll_interval < Duration(100)) {
           e = "must be at least 100ms";
           return false;
         }
         return true;
       }},
      {{"lava-rest", "", "REST (LCD) base URL of a Lava node"},
       [](Options& o, const std::string& v, std::string&) {
         o.lava_rest = v;
         return true;
       }},
      {{"lava-role", "provider", "which min/target pair applies: provider|consumer"},
       [](Options& o, const std::string& v, std::string& e) {
         static const std::pair<const char*, LavaRole> kChoices[] = {
             {"provider", LavaRole::provider}, {"consumer", LavaRole::consumer}};
         return set_enum(o.lava_role, v, kChoices, e);
       }},
      {{"upgrade-at", "target", "upgrade when below target, or only when below min: target|min"},
       [](Options& o, const std::string& v, std::string& e) {
         static const std::pair<const char*, UpgradeAt> kChoices[] = {{"target", UpgradeAt::target},
                                                                      {"min", UpgradeAt::min}};
         return set_enum(o.upgrade_at, v, kChoices, e);
       }},
      {{"vega-admin-socket", "", "the Vega node's admin unix socket (default $TMPDIR/vega.sock)"},
       [](Options& o, const std::string& v, std::string&) {
         o.vega_admin_socket = v;
         return true;
       }},
      {{"vega-admin-path", "/rpc", "HTTP path of the JSON-RPC endpoint on that socket"},
       [](Options& o, const std::string& v, std::string& e) {
         if (v.empty() || v.front() != '/') {
           e = "must start with /";
           return false;
         }
         o.vega_admin_path = v;
         return true;
       }},
      {{"upgrade-info", "", "the Cosmos SDK upgrade-info.json to watch"},
       [](Options& o, const std::string& v, std::string&) {
         o.upgrade_info = v;
         return true;
       }},
      {{"node", "", "CometBFT RPC URL of a node of the network (Lava params, Cosmos plans)"},
       [](Options& o, const std::string& v, std::string& e) {
         // tcp:// is how CometBFT, lavap and LavaVisor spell the node's plain-HTTP RPC
         // (lavap's default --node is tcp://localhost:26657): the same server over http://.
         const std::string tcp = "tcp://";
         const std::string url = v.rfind(tcp, 0) == 0 ? "http://" + v.substr(tcp.size()) : v;
         if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
           e = "expected an http(s) or tcp URL such as http://127.0.0.1:26657, got '" + v + "'";
           return false;
         }
         o.node = url;
         return true;
       }},
      {{"chain-id", "", "with --node: the chain the node must serve, e.g. lava-mainnet-1"},
       [](Options& o, const std::string& v, std::string&) {
         o.chain_id = v;
         return true;
       }},
      {{"plan-downloads", "on",
        "may a binary listed in a Cosmos plan's info be downloaded: on|off"},
       [](Options& o, const std::string& v, std::string& e) {
         return set_bool(o.plan_downloads, v, e);
       }},
      {{"download-url", "", "artifact URL template ({version} {tag} {os} {arch} {name})"},
       [](Options& o, const std::string& v, std::string&) {
         o.download_url = v;
         return true;
       }},
      {{"checksum-url", "", "sha256sum.txt-style checksum file URL template"},
       [](Options& o, const std::string& v, std::string&) {
         o.checksum_url = v;
         return true;
       }},
      {{"insecure-skip-checksum", "false", "allow an artifact with no known SHA-256", true},
       [](Options& o, const std::string& v, std::string& e) {
         return set_bool(o.insecure_skip_checksum, v, e);
       }},
      {{"allow-http", "false", "allow plain-http artifact URLs", true},
       [](Options& o, const std::string& v, std::string& e) {
         return set_bool(o.allow_http, v, e);
       }},
      {{"ca-bundle", "", "CA certificate bundle for https (default: the system's)"},
       [](Options& o, const std::string& v, std::string&) {
         o.ca_bundle = v;
         return true;
       }},
      {{"max-artifact-size", "2G", "largest artifact (and unpacked content) accepted"},
       [](Options& o, const std::string& v, std::string& e) {
         return set_size(o.max_artifact_size, v, e);
       }},
      {{"download-timeout", "30m", "longest a whole download may take"},
       [](Options& o, const std::string& v, std::string& e) {
         return set_duration(o.download_timeout, v, e);
       }},
      {{"request-timeout", "10s", "deadline of one source request"},
       [](Options& o, const std::string& v, std::string& e) {
         return set_duration(o.request_timeout, v, e);
       }},
      {{"version-args", "version", "how the managed binary is asked its version"},
       [](Options& o, const std::string& v, std::string& e) {
         return set_words(o.version_args, v, e);
       }},
      {{"stop-signal", "TERM", "first signal on a planned stop"},
       [](Options& o, const std::string& v, std::string& e) {
         auto number = parse_signal(v);
         if (!number) {
           e = "unknown signal '" + v + "'";
           return false;
         }
         o.stop_signal = *number;
         return true;
       }},
      {{"stop-timeout", "30s", "how long a stop may take before SIGKILL"},
       [](Options& o, const std::string& v, std::string& e) {
         return set_duration(o.stop_timeout, v, e);
       }},
      {{"restart", "on-failure", "what a child exit leads to: on-failure|always|never"},
       [](Options& o, const std::string& v, std::string& e) {
         static const std::pair<const char*, RestartPolicy> kChoices[] = {
             {"on-failure", RestartPolicy::on_failure},
             {"always", RestartPolicy::always},
             {"never", RestartPolicy::never}};
         return set_enum(o.restart, v, kChoices, e);
       }},
      {{"backoff-initial", "1s", "first restart delay"},
       [](Options& o, const std::string& v, std::string& e) {
         return set_duration(o.backoff_initial, v, e);
       }},
      {{"backoff-max", "60s", "longest restart delay"},
       [](Options& o, const std::string& v, std::string& e) {
         return set_duration(o.backoff_max, v, e);
       }},
      {{"max-restarts", "10", "more crashes than this within --restart-window: give up (exit 1)"},
       [](Options& o, const std::string& v, std::string& e) {
         return set_count(o.max_restarts, v, e);
       }},
      {{"restart-window", "10m", "the window --max-restarts counts in"},
       [](Options& o, const std::string& v, std::string& e) {
         return set_duration(o.restart_window, v, e);
       }},
      {{"healthy-after", "10s", "clean running that resets backoff and confirms an upgrade"},
       [](Options& o, const std::string& v, std::string& e) {
         return set_duration(o.healthy_after, v, e);
       }},
      {{"ready-pattern", "", "regular expression the child must print before an upgrade counts"},
       [](Options& o, const std::string& v, std::string& e) {
         if (!check_ready_pattern(v, e)) return false;
         o.ready_pattern = v;
         return true;
       }},
      {{"upgrade-args", "",
        "extra arguments for the first start after an upgrade ({version} {height})"},
       [](Options& o, const std::string& v, std::string& e) {
         return set_words(o.upgrade_args, v, e);
       }},
      {{"pre-upgrade", "",
        "command run after the old child stopped and before current moves (e.g. a backup); "
        "non-zero aborts that upgrade"},
       [](Options& o, const std::string& v, std::string& e) {
         std::vector<std::string> words;
         if (!set_words(words, v, e)) return false;
         o.pre_upgrade = v;
         return true;
       }},
      {{"post-upgrade", "", "command run after the new version passed its probation"},
       [](Options& o, const std::string& v, std::string& e) {
         std::vector<std::string> words;
         if (!set_words(words, v, e)) return false;
         o.post_upgrade = v;
         return true;
       }},
      {{"link", "", "keep a symlink at this path pointing at the current binary"},
       [](Options& o, const std::string& v, std::string&) {
         o.link = v;
         return true;
       }},
      {{"stdin-file", "", "feed this file to the child's stdin (never logged)"},
       [](Options& o, const std::string& v, std::string&) {
         o.stdin_file = v;
         return true;
       }},
      {{"health-listen", "", "serve /healthz, /readyz, /metrics on ADDR:PORT"},
       [](Options& o, const std::string& v, std::string& e) {
         const auto colon = v.rfind(':');
         if (colon == std::string::npos || colon + 1 >= v.size() ||
             v.find_first_not_of("0123456789", colon + 1) != std::string::npos ||
             std::stoul(v.substr(colon + 1).substr(0, 6)) > 65535) {
           e = "expected ADDR:PORT, e.g. 127.0.0.1:9187, got '" + v + "'";
           return false;
         }
         o.health_listen = v;
         return true;
       }},
      {{"log-format", "text", "visor's own log lines: text|json"},
       [](Options& o, const std::string& v, std::string& e) {
         static const std::pair<const char*, log::Format> kChoices[] = {
             {"text", log::Format::text}, {"json", log::Format::json}};
         return set_enum(o.log_format, v, kChoices, e);
       }},
      {{"log-level", "info", "trace|debug|info|warn|error|off"},
       [](Options& o, const std::string& v, std::string& e) {
         if (!log::parse_level(v, o.log_level)) {
           e = "expected trace|debug|info|warn|error|critical|off, got '" + v + "'";
           return false;
         }
         return true;
       }},
  };
  return kRules;
}

const OptionRule* find_rule(const std::string& name) {
  for (const auto& rule : rules()) {
    if (rule.spec.name == name) return &rule;
  }
  return nullptr;
}

std::vector<std::string> option_names();

std::string json_to_text(const nlohmann::json& value, bool& ok) {
  ok = true;
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number_integer() || value.is_number_unsigned()) return value.dump();
  if (value.is_array()) {  // a list of words, e.g. "upgrade-args": ["--a", "b c"]
    std::vector<std::string> words;
    for (const auto& item : value) {
      if (!item.is_string()) {
        ok = false;
        return {};
      }
      words.push_back(item.get<std::string>());
    }
    return join_command_line(words);
  }
  ok = false;
  return {};
}

// The keys one entry of "children" may have; everything else is the set's.
constexpr const char* kChildKeys[] = {"name", "cmd", "upgrade-args", "stdin-file", "ready-pattern"};

// Reads the config file's "children" list (each entry checked later with the flags' children).
std::vector<ChildSpec> read_children(const nlohmann::json& list, const std::string& path,
                                     std::vector<std::string>& errors) {
  std::vector<ChildSpec> children;
  const std::string where = "config file " + path + ": children";
  if (!list.is_array()) {
    errors.push_back(where + " must be a list of {\"name\", \"cmd\", ...} objects");
    return children;
  }
  for (std::size_t index = 0; index < list.size(); ++index) {
    const auto& entry = list[index];
    const std::string at = where + "[" + std::to_string(index) + "]";
    if (!entry.is_object()) {
      errors.push_back(at + " must be an object with \"name\" and \"cmd\"");
      continue;
    }
    ChildSpec child;
    for (const auto& [key, value] : entry.items()) {
      bool known = false;
      for (const char* allowed : kChildKeys) known = known || key == allowed;
      if (!known) {
        errors.push_back(at + ": unknown key '" + key +
                         "' (a child has name, cmd, upgrade-args, stdin-file, ready-pattern)");
        continue;
      }
      bool ok = false;
      std::string text = json_to_text(value, ok);
      // A command may be a list of words, as the set's "cmd" and "upgrade-args" may.
      const bool words = key == "upgrade-args" || key == "cmd";
      if (!ok || !(value.is_string() || (words && value.is_array()))) {
        errors.push_back(at + ": key '" + key + "' must be a string" +
                         (words ? " or a list of strings" : ""));
        continue;
      }
      if (key == "name") {
        child.name = std::move(text);
      } else if (key == "cmd") {
        child.cmd = std::move(text);
      } else if (key == "upgrade-args") {
        std::vector<std::string> words;
        std::string error;
        if (!set_words(words, text, error)) {
          errors.push_back(at + ": upgrade-args: " + error);
          continue;
        }
        child.upgrade_args = std::move(words);
      } else if (key == "stdin-file") {
        child.stdin_file = std::move(text);
      } else {
        child.ready_pattern = std::move(text);
      }
    }
    if (!entry.contains("name")) errors.push_back(at + ": \"name\" is missing");
    if (!entry.contains("cmd")) errors.push_back(at + ": \"cmd\" is missing");
    children.push_back(std::move(child));
  }
  return children;
}

// Reads the JSON config file into raw values, adding any problem to `errors`; the "children"
// list goes to `children` (set only when the file has one).
RawValues read_config_file(const std::string& path, std::vector<std::string>& errors,
                           std::optional<std::vector<ChildSpec>>& children) {
  RawValues values;
  // Non-blocking open, regular files only, at most 1 MiB: a FIFO there is an error, not a hang.
  auto text = read_small_file(path, std::size_t{1} << 20);
  if (!text) {
    errors.push_back("config file " + path + ": cannot be read: " + text.error());
    return values;
  }
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(text.value());
  } catch (const nlohmann::json::exception& failure) {
    errors.push_back("config file " + path + ": not valid JSON: " + failure.what());
    return values;
  }
  if (!document.is_object()) {
    errors.push_back("config file " + path + ": must be a JSON object of option names");
    return values;
  }
  for (const auto& [key, value] : document.items()) {
    if (key == "children") {
      children = read_children(value, path, errors);
      continue;
    }
    if (key == "child") {
      errors.push_back("config file " + path +
                       ": key 'child' is a flag; the file lists a set as \"children\": "
                       "[{\"name\": ..., \"cmd\": ...}]");
      continue;
    }
    if (!find_rule(key)) {
      errors.push_back("config file " + path + ": unknown key '" + key + "'" +
                       did_you_mean(key, option_names()));
      continue;
    }
    bool ok = false;
    std::string text = json_to_text(value, ok);
    if (!ok) {
      errors.push_back("config file " + path + ": key '" + key +
                       "' must be a string, number, boolean or list of strings");
      continue;
    }
    values[key] = RawValue{std::move(text), path, OriginKind::config_file};
  }
  return values;
}

// Cosmovisor's settings that visor has no equivalent for (named in one warning when set).
constexpr const char* kCosmovisorWithoutEquivalent[] = {
    "DAEMON_RESTART_AFTER_UPGRADE",  "DAEMON_LOG_BUFFER_SIZE",
    "DAEMON_DATA_BACKUP_DIR",        "UNSAFE_SKIP_BACKUP",
    "DAEMON_PREUPGRADE_MAX_RETRIES", "DAEMON_DOWNLOAD_MUST_HAVE_CHECKSUM",
    "DAEMON_GRPC_ADDRESS",           "COSMOVISOR_DISABLE_LOGS",
    "COSMOVISOR_COLOR_LOGS",         "COSMOVISOR_TIMEFORMAT_LOGS",
    "COSMOVISOR_DISABLE_RECASE",     "COSMOVISOR_CONFIG"};

// Cosmovisor's environment as visor options (profile cosmos, section "Migration" of the docs):
// each value carries the variable's name as its origin. DAEMON_NAME is handled by the caller.
RawValues cosmovisor_values(const GetEnvironment& get_environment, LoadedConfig& loaded) {
  RawValues values;
  std::string used;
  auto take = [&](const char* variable, const char* option, std::string value) {
    values[option] = RawValue{std::move(value), variable, OriginKind::daemon_environment};
    used += (used.empty() ? "" : ", ") + std::string(variable) + " (--" + option + ")";
  };
  const char* daemon_home = get_environment("DAEMON_HOME");
  if (daemon_home && *daemon_home && daemon_home[0] != '/') {
    // Cosmovisor refuses it too; relative to visor's working directory (/ under systemd) it
    // would name another file than the node writes.
    loaded.errors.push_back("DAEMON_HOME must be an absolute path, got '" +
                            outside_text(daemon_home, 200) + "'");
    daemon_home = nullptr;
  }
  if (daemon_home && *daemon_home) {
    take("DAEMON_HOME", "upgrade-info", std::string(daemon_home) + "/data/upgrade-info.json");
  }
  if (const char* script = get_environment("COSMOVISOR_CUSTOM_PREUPGRADE"); script && *script) {
    if (daemon_home && *daemon_home) {
      take("COSMOVISOR_CUSTOM_PREUPGRADE", "pre-upgrade",
           join_command_line({std::string(daemon_home) + "/cosmovisor/" + script}));
    } else {
      loaded.errors.push_back(
          "COSMOVISOR_CUSTOM_PREUPGRADE names a file in $DAEMON_HOME/cosmovisor/, but DAEMON_HOME "
          "is not set");
    }
  }
  if (const char* text = get_environment("DAEMON_ALLOW_DOWNLOAD_BINARIES"); text && *text) {
    take("DAEMON_ALLOW_DOWNLOAD_BINARIES", "plan-downloads", text);
  }
  // Go durations (Cosmovisor reads them with time.ParseDuration): "1.5s" is 1s500ms here. A
  // value that is not one goes on as given, so that its error names the variable.
  const std::pair<const char*, const char*> kDurations[] = {
      {"DAEMON_SHUTDOWN_GRACE", "stop-timeout"},
      {"DAEMON_POLL_INTERVAL", "poll-interval"},
      {"DAEMON_RESTART_DELAY", "backoff-initial"}};
  for (const auto& [variable, option] : kDurations) {
    const char* text = get_environment(variable);
    if (!text || !*text) continue;
    const auto duration = parse_go_duration(text);
    take(variable, option, duration ? format_duration(*duration) : std::string(text));
  }
  if (const char* name = get_environment("DAEMON_NAME"); name && *name) {
    used += (used.empty() ? "" : ", ") + std::string("DAEMON_NAME (the binary of --cmd)");
  }
  if (!used.empty()) loaded.notes.push_back("Cosmovisor's environment in use: " + used);
  std::string ignored;
  for (const char* variable : kCosmovisorWithoutEquivalent) {
    if (const char* text = get_environment(variable); text && *text) {
      ignored += (ignored.empty() ? "" : ", ") + std::string(variable);
    }
  }
  if (!ignored.empty()) {
    loaded.warnings.push_back("Cosmovisor variables with no equivalent in visor, ignored: " +
                              ignored);
  }
  return values;
}

// Splits `--child NAME=COMMAND`.
bool parse_child_flag(const std::string& text, ChildSpec& child, std::string& error) {
  const auto equals = text.find('=');
  if (equals == std::string::npos) {
    error = "expected NAME=COMMAND, e.g. core=\"vega start --home /srv/vega\", got '" + text + "'";
    return false;
  }
  child.name = text.substr(0, equals);
  child.cmd = text.substr(equals + 1);
  return true;
}

// Builds options.children from --child (or VISOR_CHILD), else the file's "children", else the
// one child of --cmd, and checks each: a valid unique name, a command, its own ready pattern
// and stdin file. The first child's command is also options.cmd/command.
void assemble_children(Options& options, const RawValue* child_flags,
                       std::optional<std::vector<ChildSpec>> file_children,
                       const std::string& file_path, bool cmd_given, RawValues& effective,
                       const GetEnvironment& get_environment, std::vector<std::string>& errors) {
  std::vector<ChildSpec> children;
  std::string origin;
  if (child_flags) {
    origin = child_flags->origin;
    const std::vector<std::string> texts = child_flags->list.empty()
                                               ? std::vector<std::string>{child_flags->value}
                                               : child_flags->list;
    for (const auto& text : texts) {
      ChildSpec child;
      std::string error;
      if (!parse_child_flag(text, child, error)) {
        errors.push_back(origin + ": " + error);
        continue;
      }
      children.push_back(std::move(child));
    }
  } else if (file_children) {
    origin = "config file " + file_path + ": children";
    children = std::move(*file_children);
    if (children.empty()) errors.push_back(origin + " is empty");
  }
  const bool set_given = child_flags || file_children;
  if (set_given && cmd_given) {
    errors.push_back("--cmd cannot be combined with " +
                     std::string(child_flags ? origin : "\"children\" in the config file") +
                     ": give the set's children only, or one --cmd");
  }
  if (!set_given) {
    if (options.command.empty()) return;
    ChildSpec only;
    only.name = child_name_for_binary(binary_name(options));
    only.cmd = options.cmd;
    only.command = options.command;
    options.children.push_back(std::move(only));
    return;
  }
  std::set<std::string> names;
  for (auto& child : children) {
    // A name is quoted as outside text: an invalid one may hold anything, of any length.
    const std::string label = origin + " '" + outside_text(child.name) + "'";
    if (!valid_child_name(child.name)) {
      errors.push_back(origin + ": invalid child name '" + outside_text(child.name) +
                       "' (lower-case letters, digits and '-', not starting with '-')");
    } else if (!names.insert(child.name).second) {
      errors.push_back(origin + ": child name '" + child.name + "' is used twice");
    }
    std::string error;
    if (!set_words(child.command, child.cmd, error)) {
      errors.push_back(label + ": command: " + error);
    } else if (!check_command(child.command, error)) {
      child.command.clear();  // never probed nor run
      errors.push_back(label + ": " + error);
    }
    if (!child.ready_pattern.empty() && !check_ready_pattern(child.ready_pattern, error)) {
      errors.push_back(label + ": ready-pattern: " + error);
    }
    // A path, so `~` is expanded as in the set's --stdin-file.
    child.stdin_file = expand_home(child.stdin_file, get_environment);
    std::error_code ignored;
    if (!child.stdin_file.empty() && !std::filesystem::is_regular_file(child.stdin_file, ignored) &&
        !std::filesystem::is_fifo(child.stdin_file, ignored)) {
      errors.push_back(label + ": stdin-file: not a readable file: " + child.stdin_file);
    }
  }
  options.children = std::move(children);
  // `visor config` shows the set as given: one NAME=COMMAND per child.
  RawValue shown{{},
                 child_flags ? origin : file_path,
                 child_flags ? child_flags->kind : OriginKind::config_file};
  for (const auto& child : options.children) shown.list.push_back(child.name + "=" + child.cmd);
  if (!shown.list.empty()) shown.value = shown.list.front();
  effective["child"] = std::move(shown);
  if (!options.children.empty()) {
    options.cmd = options.children.front().cmd;
    options.command = options.children.front().command;
  }
}

// Options are named as the flag an operator would type, whatever layer the value came from.
std::string describe_origin(const std::string& name, const RawValue& raw) {
  if (raw.kind == OriginKind::default_value) return "--" + name + " (default)";
  if (raw.origin.rfind("--", 0) == 0) return raw.origin;
  return "--" + name + " (from " + raw.origin + ")";
}

std::vector<std::string> option_names() {
  std::vector<std::string> names;
  for (const auto& rule : rules()) names.push_back(rule.spec.name);
  return names;
}

// Options whose values are paths: a leading `~` is expanded in them (a shell does not expand
// it in `--home=~/x`, in a config file or in an environment variable).
bool is_path_option(const std::string& name) {
  static const std::set<std::string> kPaths = {
      "home", "config", "upgrade-info", "link", "stdin-file", "vega-admin-socket", "ca-bundle"};
  return kPaths.count(name) > 0;
}

}  // namespace

const std::vector<OptionSpec>& option_specs() {
  static const std::vector<OptionSpec> kSpecs = [] {
    std::vector<OptionSpec> specs;
    for (const auto& rule : rules()) specs.push_back(rule.spec);
    return specs;
  }();
  return kSpecs;
}

std::string environment_name(const std::string& option_name) {
  std::string name = "VISOR_";
  for (const char c : option_name) {
    name.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return name;
}

std::vector<std::string> profile_names() {
  return {"lava-provider", "lava-consumer", "vega", "cosmos"};
}

const char* to_string(OriginKind kind) {
  switch (kind) {
    case OriginKind::flag:
      return "flag";
    case OriginKind::environment:
      return "environment";
    case OriginKind::config_file:
      return "config file";
    case OriginKind::daemon_environment:
      return "DAEMON_* environment";
    case OriginKind::profile:
      return "profile";
    case OriginKind::default_value:
      return "default";
  }
  return "default";
}

std::string expand_home(const std::string& path, const GetEnvironment& get_environment) {
  if (path.empty() || path.front() != '~' || (path.size() > 1 && path[1] != '/')) return path;
  const char* user_home = get_environment("HOME");
  if (!user_home || !*user_home) return path;
  return std::string(user_home) + path.substr(1);
}

RawValues profile_values(const std::string& profile) {
  const std::string origin = "profile " + profile;
  auto value = [&](const char* text) { return RawValue{text, origin, OriginKind::profile}; };
  const char* lava_url =
      "https://github.com/lavanet/lava/releases/download/v{version}/lavap-v{version}-{os}-{arch}";
  const char* lava_sums =
      "https://github.com/lavanet/lava/releases/download/v{version}/sha256sum.txt";
  if (profile == "lava-provider" || profile == "lava-consumer") {
    return {{"source", value("lava")},
            {"lava-role", value(profile == "lava-provider" ? "provider" : "consumer")},
            {"download-url", value(lava_url)},
            {"checksum-url", value(lava_sums)}};
  }
  if (profile == "vega") {
    return {
        {"source", value("vega")},
        {"download-url",
         value(
             "https://github.com/vegaprotocol/vega/releases/download/{tag}/vega-{os}-{arch}.zip")},
        {"upgrade-args", value("--snapshot.load-from-block-height {height}")},
        {"group", value("together")}};
  }
  if (profile == "cosmos") {
    return {{"source", value("cosmos")}};
  }
  return {};
}

LoadedConfig load_config(const RawValues& command_line, const GetEnvironment& get_environment,
                         bool require_command,
                         const std::vector<std::string>& environment_variables) {
  LoadedConfig loaded;
  auto& errors = loaded.errors;

  for (const auto& [name, raw] : command_line) {
    if (!find_rule(name)) {
      errors.push_back("unknown option --" + name + did_you_mean(name, option_names(), "--"));
    }
  }

  RawValues environment;
  std::set<std::string> known_variables;
  for (const auto& rule : rules()) {
    const std::string variable = environment_name(rule.spec.name);
    known_variables.insert(variable);
    if (const char* text = get_environment(variable.c_str())) {
      environment[rule.spec.name] = RawValue{text, variable, OriginKind::environment};
    }
  }
  // VISOR_UPGRADE_* is what visor itself gives its hooks, not an option.
  for (const auto& variable : environment_variables) {
    if (variable.rfind("VISOR_", 0) != 0 || known_variables.count(variable) > 0 ||
        variable.rfind("VISOR_UPGRADE_", 0) == 0) {
      continue;
    }
    std::string option;
    for (const char c : variable.substr(6)) {
      option.push_back(c == '_' ? '-'
                                : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    const std::string closest = closest_name(option, option_names());
    loaded.warnings.push_back("ignoring " + variable + ": it is not a visor option" +
                              (closest.empty() ? std::string()
                                               : " (did you mean " + environment_name(closest) +
                                                     ", --" + closest + "?)"));
  }
  auto pick = [&](const std::string& name) -> const RawValue* {
    if (auto it = command_line.find(name); it != command_line.end()) return &it->second;
    if (auto it = environment.find(name); it != environment.end()) return &it->second;
    return nullptr;
  };

  // The home and the config file decide where the config file is, so they come first.
  std::string home;
  if (const auto* raw = pick("home")) {
    home = expand_home(raw->value, get_environment);
  } else if (const char* user_home = get_environment("HOME")) {
    home = std::string(user_home) + "/.visor";
  } else {
    home = ".visor";
  }
  RawValues file;
  std::string file_path;
  std::optional<std::vector<ChildSpec>> file_children;
  bool default_config_read = false;
  if (const auto* raw = pick("config")) {
    file_path = expand_home(raw->value, get_environment);
  } else if (std::error_code ignored; std::filesystem::exists(home + "/config.json", ignored)) {
    file_path = home + "/config.json";
    default_config_read = true;
  }
  if (!file_path.empty()) file = read_config_file(file_path, errors, file_children);

  std::string profile;
  if (const auto* raw = pick("profile")) {
    profile = raw->value;
  } else if (auto it = file.find("profile"); it != file.end()) {
    profile = it->second.value;
  }
  const RawValues preset = profile_values(profile);
  const RawValues cosmovisor =
      profile == "cosmos" ? cosmovisor_values(get_environment, loaded) : RawValues();

  // DAEMON_NAME names the binary: the words after `--` are its arguments, and with no command
  // at all it runs bare (`cosmovisor run ARGS` becomes `visor wrap --profile cosmos -- ARGS`).
  RawValues given = command_line;
  if (const char* daemon_name = profile == "cosmos" ? get_environment("DAEMON_NAME") : nullptr;
      daemon_name && *daemon_name) {
    auto cmd = given.find("cmd");
    if (cmd != given.end() && cmd->second.origin == kTrailingCommandOrigin) {
      cmd->second = RawValue{join_command_line({daemon_name}) + " " + cmd->second.value,
                             "DAEMON_NAME and the words after --", OriginKind::flag};
    } else if (cmd == given.end() && environment.count("cmd") == 0 && file.count("cmd") == 0 &&
               !pick("child") && !file_children) {  // a set names its binaries itself
      given["cmd"] =
          RawValue{join_command_line({daemon_name}), "DAEMON_NAME", OriginKind::daemon_environment};
    }
  }
  auto pick_given = [&](const std::string& name) -> const RawValue* {
    if (auto it = given.find(name); it != given.end()) return &it->second;
    if (auto it = environment.find(name); it != environment.end()) return &it->second;
    return nullptr;
  };

  Options& options = loaded.options;
  bool poll_interval_given = false;
  for (const auto& rule : rules()) {
    const std::string& name = rule.spec.name;
    if (name == "child") continue;  // assemble_children, below
    RawValue chosen;
    if (const auto* raw = pick_given(name)) {
      chosen = *raw;
    } else if (auto it = file.find(name); it != file.end()) {
      chosen = it->second;
    } else if (auto it = cosmovisor.find(name); it != cosmovisor.end()) {
      chosen = it->second;
    } else if (auto it = preset.find(name); it != preset.end()) {
      chosen = it->second;
    } else if (!rule.spec.default_value.empty()) {
      chosen = RawValue{rule.spec.default_value, "", OriginKind::default_value};
    } else {
      continue;
    }
    if (name == "poll-interval") poll_interval_given = true;
    if (is_path_option(name)) chosen.value = expand_home(chosen.value, get_environment);
    loaded.effective[name] = chosen;
    std::string error;
    if (!rule.set(options, chosen.value, error)) {
      errors.push_back(describe_origin(name, chosen) + ": " + error);
    }
  }
  if (options.home.empty()) {
    options.home = home;
    loaded.effective["home"] = RawValue{home, "", OriginKind::default_value};
  }
  if (default_config_read) {
    options.config_file = home + "/config.json";
    loaded.effective["config"] = RawValue{options.config_file, "", OriginKind::default_value};
  }

  // Settings that depend on each other.
  if (!poll_interval_given) {
    options.poll_interval = options.source == SourceKind::lava ? Duration(15000) : Duration(1000);
    loaded.effective["poll-interval"] =
        RawValue{options.source == SourceKind::lava ? "15s" : "1s", "", OriginKind::default_value};
  }
  if (options.vega_admin_socket.empty()) {
    const char* temporary = get_environment("TMPDIR");
    options.vega_admin_socket =
        std::string(temporary && *temporary ? temporary : "/tmp") + "/vega.sock";
    loaded.effective["vega-admin-socket"] =
        RawValue{options.vega_admin_socket, "", OriginKind::default_value};
  }
  const bool cmd_given = !options.cmd.empty() || !options.command.empty();
  assemble_children(options, pick("child"), std::move(file_children), file_path, cmd_given,
                    loaded.effective, get_environment, errors);
  if (require_command && options.command.empty() && options.cmd.empty() &&
      options.children.empty()) {
    errors.push_back(
        "--cmd is required: the command line of the node to supervise (or --child NAME=COMMAND "
        "for each child of a set)");
  }
  if (const auto names = binary_names(options);
      names.size() > 1 && !options.download_url.empty() &&
      options.download_url.find("{name}") == std::string::npos) {
    std::string listed;
    for (const auto& name : names) listed += (listed.empty() ? "" : ", ") + name;
    errors.push_back("--download-url has no {name} while the set runs several binaries (" + listed +
                     "): add {name} so that each binary has its own artifact");
  }
  if (options.source == SourceKind::lava && options.lava_rest.empty() && options.node.empty()) {
    errors.push_back(
        "--source lava needs --node (the CometBFT RPC URL of a Lava node) or --lava-rest (its "
        "REST URL)");
  }
  if (!options.chain_id.empty() && options.node.empty()) {
    errors.push_back(
        "--chain-id needs --node (the chain id is checked against the node's /status)");
  }
  if (options.source == SourceKind::cosmos && options.upgrade_info.empty()) {
    errors.push_back("--source cosmos needs --upgrade-info (the path of upgrade-info.json)");
  }
  if (options.backoff_initial > options.backoff_max) {
    errors.push_back("--backoff-initial (" + std::to_string(options.backoff_initial.count()) +
                     "ms) is longer than --backoff-max (" +
                     std::to_string(options.backoff_max.count()) + "ms)");
  }
  if (options.backoff_initial < Duration(1)) {
    const auto given = loaded.effective.find("backoff-initial");  // may be DAEMON_RESTART_DELAY
    errors.push_back((given != loaded.effective.end()
                          ? describe_origin("backoff-initial", given->second)
                          : std::string("--backoff-initial")) +
                     " must be above 0");
  }
  for (const auto* url : {&options.download_url, &options.checksum_url}) {
    if (url->empty()) continue;
    const bool https = url->rfind("https://", 0) == 0;
    const bool http = url->rfind("http://", 0) == 0;
    const char* which = url == &options.download_url ? "--download-url" : "--checksum-url";
    if (!https && !http) {
      errors.push_back(std::string(which) + ": must be an http(s) URL, got '" + *url + "'");
    } else if (http && !options.allow_http) {
      errors.push_back(std::string(which) + ": plain http refused without --allow-http: '" + *url +
                       "'");
    }
  }
  if (!options.stdin_file.empty()) {
    std::error_code ignored;
    if (!std::filesystem::is_regular_file(options.stdin_file, ignored) &&
        !std::filesystem::is_fifo(options.stdin_file, ignored)) {
      errors.push_back("--stdin-file: not a readable file: " + options.stdin_file);
    }
  }
  return loaded;
}

}  // namespace visor
