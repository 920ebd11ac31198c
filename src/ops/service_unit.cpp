#include "visor/ops/service_unit.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <vector>

#include "visor/common/command_line.h"
#include "visor/config/duration.h"
#include "visor/config/options.h"

namespace visor {
namespace {

// visor waits --stop-timeout for the child, then SIGKILLs it; systemd must wait longer than that.
constexpr Duration kDefaultStopTimeout{30000};
constexpr Duration kStopMargin{15000};

bool is_plain(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("_-./:=,+@").find(c) != std::string_view::npos;
}

bool has_control_character(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// Paths in ReadWritePaths= are split on blanks and quotes, and specifiers expand; no `$`.
std::string quote_path(std::string_view path) {
  std::string quoted;
  for (const char c : path) quoted += c == '%' ? std::string("%%") : std::string(1, c);
  if (quoted.find(' ') != std::string::npos) quoted = "\"" + quoted + "\"";
  return quoted;
}

bool is_under(const std::string& path, const std::string& directory) {
  return path == directory || path.rfind(directory + "/", 0) == 0;
}

// The value of `--flag VALUE` or `--flag=VALUE` among `words` (the last one wins).
std::optional<std::string> flag_value(const std::vector<std::string>& words,
                                      const std::string& flag) {
  std::optional<std::string> value;
  for (std::size_t index = 0; index < words.size(); ++index) {
    if (words[index] == flag && index + 1 < words.size()) value = words[index + 1];
    if (words[index].rfind(flag + "=", 0) == 0) value = words[index].substr(flag.size() + 1);
  }
  return value;
}

std::vector<std::string> split_or_empty(const std::string& text) {
  auto words = split_command_line(text);
  return words ? words.value() : std::vector<std::string>{};
}

// The command line of each child: --cmd's, or the COMMAND of every --child NAME=COMMAND.
std::vector<std::string> child_commands(const ServiceRequest& request) {
  if (request.children.empty()) return {request.cmd};
  std::vector<std::string> commands;
  for (const auto& child : request.children) {
    const auto equals = child.find('=');
    commands.push_back(equals == std::string::npos ? std::string() : child.substr(equals + 1));
  }
  return commands;
}

std::string format_seconds(Duration duration) {
  return std::to_string((duration.count() + 999) / 1000) + "s";
}

}  // namespace

std::vector<std::string> node_data_paths(const std::vector<std::string>& command) {
  std::vector<std::string> paths;
  auto names_a_folder = [](std::string_view flag) {
    if (flag.size() < 3 || flag[0] != '-') return false;
    return flag.find("home") != std::string_view::npos ||
           flag.find("dir") != std::string_view::npos;
  };
  auto add = [&paths](const std::string& path) {
    if (path.empty() || path.front() != '/' || path.find_first_of("\"'") != std::string::npos ||
        has_control_character(path)) {
      return;
    }
    const std::string normal = std::filesystem::path(path).lexically_normal().string();
    if (std::find(paths.begin(), paths.end(), normal) == paths.end()) paths.push_back(normal);
  };
  for (std::size_t index = 1; index < command.size(); ++index) {
    const std::string& word = command[index];
    if (word.empty() || word.front() != '-') continue;
    const auto equals = word.find('=');
    if (equals != std::string::npos) {
      if (names_a_folder(std::string_view(word).substr(0, equals))) add(word.substr(equals + 1));
    } else if (names_a_folder(word) && index + 1 < command.size()) {
      add(command[index + 1]);
    }
  }
  return paths;
}

std::string quote_exec_word(std::string_view word) {
  const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return is_plain(c) || c == '%' || c == '$';
  });
  std::string quoted = plain ? "" : "\"";
  for (const char c : word) {
    switch (c) {
      case '%':
        quoted += "%%";
        break;
      case '$':
        quoted += "$$";
        break;
      case '\\':
        quoted += "\\\\";
        break;
      case '"':
        quoted += "\\\"";
        break;
      case '\n':
        quoted += "\\n";
        break;
      case '\t':
        quoted += "\\t";
        break;
      case '\r':
        quoted += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\x%02x", static_cast<unsigned char>(c));
          quoted += escaped;
        } else {
          quoted += c;
        }
    }
  }
  if (!plain) quoted += '"';
  return quoted;
}

std::string service_name(const ServiceRequest& request) {
  std::string name = request.name;
  if (name.empty()) {
    const auto words = split_or_empty(child_commands(request).front());
    name = words.empty() ? "visor" : std::filesystem::path(words.front()).filename().string();
  }
  const std::string suffix = ".service";
  if (name.size() > suffix.size() &&
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
    name.resize(name.size() - suffix.size());
  }
  return name;
}

Status check_service_request(const ServiceRequest& request) {
  std::vector<std::string> errors;
  if (request.children.empty()) {
    auto command = split_command_line(request.cmd);
    if (!command) {
      errors.push_back("--cmd: " + command.error());
    } else if (command->empty()) {
      errors.push_back("--cmd is empty");
    }
  } else if (!request.cmd.empty()) {
    errors.push_back("--cmd cannot be combined with --child: give one --cmd or the set's children");
  }
  std::vector<std::string> names;
  for (const auto& child : request.children) {
    const auto equals = child.find('=');
    const std::string name = child.substr(0, equals);
    if (equals == std::string::npos) {
      errors.push_back("--child: expected NAME=COMMAND, got '" + child + "'");
      continue;
    }
    if (!valid_child_name(name)) {
      errors.push_back("--child: invalid child name '" + name +
                       "' (lower-case letters, digits and '-', not starting with '-')");
    } else if (std::find(names.begin(), names.end(), name) != names.end()) {
      errors.push_back("--child: child name '" + name + "' is used twice");
    }
    names.push_back(name);
    auto command = split_command_line(child.substr(equals + 1));
    if (!command) {
      errors.push_back("--child " + name + ": " + command.error());
    } else if (command->empty()) {
      errors.push_back("--child " + name + ": the command line is empty");
    }
  }
  if (auto extra = split_command_line(request.extra_args); !extra) {
    errors.push_back("--visor-args: " + extra.error());
  }
  const auto path_problem = [](const std::string& path) -> std::string {
    if (path.empty() || path.front() != '/') return "must be an absolute path";
    if (has_control_character(path) || path.find_first_of("\"'\\") != std::string::npos) {
      return "must not contain quotes, backslashes or control characters";
    }
    return "";
  };
  if (const auto problem = path_problem(request.home); !problem.empty()) {
    errors.push_back("--home '" + request.home + "' " + problem);
  }
  const std::string name = service_name(request);
  if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::string_view("_-.:@\\").find(c) != std::string_view::npos;
      })) {
    errors.push_back("--name '" + name + "' is not a valid unit name (letters, digits, _-.:@)");
  }
  if (!request.user.empty() && !std::all_of(request.user.begin(), request.user.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.';
      })) {
    errors.push_back("--user '" + request.user + "' is not a valid user name");
  }
  if (errors.empty()) return {};
  std::string message;
  for (const auto& error : errors) message += (message.empty() ? "" : "; ") + error;
  return Status::failure(message);
}

std::string render_service_unit(const ServiceRequest& request, const std::string& visor_path) {
  const auto commands = child_commands(request);
  const auto command = split_or_empty(commands.front());
  const auto extra = split_or_empty(request.extra_args);
  const std::string binary =
      command.empty() ? "the node" : std::filesystem::path(command.front()).filename().string();

  std::vector<std::string> exec{visor_path, "wrap", "--home", request.home};
  // A command from <home>/config.json stays there: wrap reads it at every start.
  if (!request.command_in_home && request.children.empty()) {
    exec.insert(exec.end(), {"--cmd", request.cmd});
  } else if (!request.command_in_home) {
    for (const auto& child : request.children) exec.insert(exec.end(), {"--child", child});
  }
  exec.insert(exec.end(), extra.begin(), extra.end());
  // One option per line: systemd joins lines that end in a backslash.
  std::string exec_start;
  for (const auto& word : exec) {
    if (!exec_start.empty()) exec_start += word.rfind("--", 0) == 0 ? " \\\n    " : " ";
    exec_start += quote_exec_word(word);
  }

  Duration stop_timeout = kDefaultStopTimeout;
  if (request.stop_timeout) {
    stop_timeout = *request.stop_timeout;
  } else if (const auto given = flag_value(extra, "--stop-timeout")) {
    if (const auto parsed = parse_duration(*given)) stop_timeout = *parsed;
  }

  // visor writes its home; the node writes its data folders; --link replaces a symlink in its
  // folder.
  std::vector<std::string> writable{request.home};
  for (const auto& child_command : commands) {
    for (const auto& path : node_data_paths(split_or_empty(child_command))) {
      if (std::find(writable.begin(), writable.end(), path) == writable.end())
        writable.push_back(path);
    }
  }
  if (const auto link = flag_value(extra, "--link");
      link && !link->empty() && link->front() == '/') {
    writable.push_back(std::filesystem::path(*link).parent_path().string());
  }
  std::string writable_paths;
  bool under_home = false;
  for (const auto& path : writable) {
    writable_paths += (writable_paths.empty() ? "" : " ") + quote_path(path);
    under_home = under_home || is_under(path, "/home") || is_under(path, "/root") ||
                 is_under(path, "/run/user");
  }
  // systemd creates /var/lib/<dir> (owned by User=) when it is the StateDirectory.
  std::string state_directory;
  const std::filesystem::path home_path(request.home);
  if (home_path.parent_path() == "/var/lib" && !home_path.filename().empty()) {
    state_directory = home_path.filename().string();
  }

  const std::string name = service_name(request);
  std::string unit;
  unit += "# Generated by `visor create-service`. Install with:\n";
  unit += "#   systemctl daemon-reload && systemctl enable --now " + name + ".service\n";
  unit +=
      "# The node can write only to ReadWritePaths= below (ProtectSystem=strict): add its data\n";
  unit += "# folder there if it keeps data elsewhere. Logs: journalctl -u " + name + ".service\n";
  unit += "[Unit]\n";
  unit +=
      "Description=" + binary +
      (request.children.size() > 1 ? " (" + std::to_string(request.children.size()) + " children)"
                                   : std::string()) +
      " supervised by visor\n";
  unit += "Wants=network-online.target\n";
  unit += "After=network-online.target\n";
  unit += "\n[Service]\n";
  unit += "Type=notify\n";
  unit += "NotifyAccess=main\n";
  unit += "ExecStart=" + exec_start + "\n";
  // A set stops its children one after the other, each given --stop-timeout.
  const std::size_t stopped_in_turn = std::max<std::size_t>(1, request.children.size());
  if (stopped_in_turn > 1) {
    unit += "# visor stops the children itself, last first, one at a time (the stop signal, then\n";
    unit += "# SIGKILL after --stop-timeout each); systemd signals only visor and SIGKILLs what\n";
    unit += "# is left when TimeoutStopSec= passes.\n";
  } else {
    unit +=
        "# visor stops the child itself (the stop signal, then SIGKILL after --stop-timeout);\n";
    unit += "# systemd signals only visor and SIGKILLs what is left when TimeoutStopSec= passes.\n";
  }
  unit += "KillMode=mixed\n";
  unit += "KillSignal=SIGTERM\n";
  unit += "TimeoutStopSec=" +
          format_seconds(stop_timeout * static_cast<int>(stopped_in_turn) + kStopMargin) + "\n";
  unit += "Restart=on-failure\n";
  unit += "RestartSec=5\n";
  unit += "# Exit 2 is a configuration error: restarting cannot fix it.\n";
  unit += "RestartPreventExitStatus=2\n";
  unit += "WatchdogSec=30\n";
  unit += "LimitNOFILE=65535\n";
  unit += "SyslogIdentifier=" + name + "\n";
  if (!request.user.empty()) unit += "User=" + request.user + "\n";
  unit += "NoNewPrivileges=yes\n";
  unit += "ProtectSystem=strict\n";
  unit += "ReadWritePaths=" + writable_paths + "\n";
  if (!state_directory.empty()) unit += "StateDirectory=" + state_directory + "\n";
  unit += "PrivateTmp=yes\n";
  if (!under_home) unit += "ProtectHome=read-only\n";
  unit += "\n[Install]\n";
  unit += "WantedBy=multi-user.target\n";
  return unit;
}

}  // namespace visor
