#include "visor/cli/cli.h"

#include <pwd.h>

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "visor/cli/commands.h"
#include "visor/cli/migrate.h"
#include "visor/common/command_line.h"
#include "visor/common/log.h"
#include "visor/common/outside_text.h"
#include "visor/common/suggest.h"
#include "visor/config/config_loader.h"
#include "visor/daemon/daemon.h"
#include "visor/daemon/preflight.h"
#include "visor/store/binary_store.h"

extern char** environ;

namespace visor {
namespace {

// Registers every wrap option on `command`; the given ones land in `given` after parsing.
struct OptionFlags {
  std::map<std::string, std::string> values;
  std::map<std::string, bool> switches;
  std::map<std::string, std::vector<std::string>> lists;  // repeatable flags (--child)
  std::map<std::string, CLI::Option*> handles;
  std::vector<std::string> trailing;  // `visor wrap -- lavap args...`

  void add_to(CLI::App& command) {
    for (const auto& spec : option_specs()) {
      std::string help = spec.help;
      if (!spec.default_value.empty() && !spec.is_flag)
        help += " [default: " + spec.default_value + "]";
      help += " (env " + environment_name(spec.name) + ")";
      if (spec.is_flag) {
        handles[spec.name] = command.add_flag("--" + spec.name, switches[spec.name], help);
      } else if (spec.repeatable) {
        handles[spec.name] = command.add_option("--" + spec.name, lists[spec.name], help)
                                 ->expected(1)
                                 ->allow_extra_args(false)
                                 ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
      } else {
        // Given twice, the last one wins (as a later flag overrides an earlier one in scripts).
        handles[spec.name] = command.add_option("--" + spec.name, values[spec.name], help)
                                 ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
      }
    }
    command.add_option("command", trailing, "the command after --, as an alternative to --cmd");
  }

  // The flags that were given; `errors` gets what cannot be combined.
  RawValues given(std::vector<std::string>& errors) const {
    RawValues raw;
    for (const auto& [name, option] : handles) {
      if (option->count() == 0) continue;
      if (const auto list = lists.find(name); list != lists.end()) {
        raw[name] = RawValue{list->second.empty() ? "" : list->second.front(), "--" + name,
                             OriginKind::flag, list->second};
        continue;
      }
      const auto it = values.find(name);
      raw[name] = RawValue{it != values.end() ? it->second : "true", "--" + name};
    }
    if (!trailing.empty()) {
      if (raw.count("cmd") > 0) {
        errors.push_back(
            "--cmd and a command after -- both name the node's command line: give "
            "one of them");
      } else {
        raw["cmd"] = RawValue{join_command_line(trailing), kTrailingCommandOrigin};
      }
    }
    return raw;
  }
};

const char* get_environment(const char* name) { return std::getenv(name); }

std::vector<std::string> environment_names() {
  std::vector<std::string> names;
  for (char** entry = environ; *entry; ++entry) {
    const char* equals = std::strchr(*entry, '=');
    if (equals) names.emplace_back(*entry, static_cast<std::size_t>(equals - *entry));
  }
  return names;
}

int report_errors(const std::vector<std::string>& errors) {
  for (const auto& error : errors) std::cerr << "visor: error: " << error << "\n";
  std::cerr << "visor: " << errors.size() << " configuration error(s); nothing was started\n";
  return kExitConfiguration;
}

// Loads wrap's configuration from parsed flags plus `errors` found while parsing them.
LoadedConfig load_from_flags(const OptionFlags& flags, bool require_command) {
  std::vector<std::string> errors;
  RawValues given = flags.given(errors);
  LoadedConfig loaded = load_config(given, get_environment, require_command, environment_names());
  loaded.errors.insert(loaded.errors.begin(), errors.begin(), errors.end());
  return loaded;
}

std::vector<std::string> long_names(const CLI::App& command) {
  std::vector<std::string> names{"help"};
  for (const CLI::Option* option : command.get_options()) {
    for (const auto& name : option->get_lnames()) names.push_back(name);
  }
  return names;
}

// CLI11 says "A subcommand is required" for a misspelt one and "arguments were not expected"
// for a misspelt flag; an operator is better served by the name and the closest valid one.
std::vector<std::string> misspellings(const CLI::App& app, int argc, char** argv) {
  std::vector<std::string> problems;
  if (argc < 2 || argv[1][0] == '-') return problems;
  const std::string word = argv[1];
  std::vector<std::string> commands;
  for (const CLI::App* command : app.get_subcommands({})) commands.push_back(command->get_name());
  const CLI::App* command = nullptr;
  for (const CLI::App* candidate : app.get_subcommands({}))
    if (candidate->get_name() == word) command = candidate;
  if (!command) {
    problems.push_back("unknown command '" + word + "'" + did_you_mean(word, commands) +
                       "; commands: " + [&] {
                         std::string list;
                         for (const auto& name : commands)
                           list += (list.empty() ? "" : ", ") + name;
                         return list;
                       }());
    return problems;
  }
  const auto known = long_names(*command);
  for (int index = 2; index < argc; ++index) {
    const std::string argument = argv[index];
    if (argument == "--") break;
    if (argument.size() < 3 || argument.rfind("--", 0) != 0) continue;
    const std::string name = argument.substr(2, argument.find('=') - 2);
    if (std::find(known.begin(), known.end(), name) != known.end()) {
      // `--visor-args "--source none"`: the next word is this option's value, not a flag.
      const CLI::Option* option = command->get_option_no_throw("--" + name);
      if (option && option->get_items_expected_min() > 0 &&
          argument.find('=') == std::string::npos) {
        ++index;
      }
      continue;
    }
    problems.push_back("unknown option --" + name + " for `visor " + word + "`" +
                       did_you_mean(name, known, "--"));
  }
  return problems;
}

std::string default_home() {
  if (const char* from_environment = std::getenv("VISOR_HOME");
      from_environment && *from_environment)
    return expand_home(from_environment, get_environment);
  const char* user_home = std::getenv("HOME");
  return std::string(user_home ? user_home : ".") + "/.visor";
}

// add-upgrade stores the file under the name wrap runs, whatever FILE is called. That name
// comes from the configuration wrap would use (--cmd, VISOR_CMD, config.json "cmd"), else from
// the binary the store's `current` holds, else from FILE itself (a store's first binary).
// A service set may run several binaries of one release: they are all named (the first being
// what `current_binary_name` would give).
std::vector<std::string> managed_names(const LoadedConfig& loaded, const std::string& file) {
  if (auto names = binary_names(loaded.options); !names.empty()) return names;
  const BinaryStore store(loaded.options.home, "");
  if (auto names = store.current_binary_names(); !names.empty()) return names;
  return {std::filesystem::path(file).filename().string()};
}

// create-service without --home: /var/lib/visor for a system user (uid below 1000, Debian's
// SYS_UID_MAX + 1, or without a home folder), which is where a service keeps its state; a
// regular user's own ~/.visor (what that user's `visor wrap` uses); without --user, this
// user's default.
std::string service_home(const std::string& user, std::vector<std::string>& errors) {
  if (user.empty()) return default_home();
  const struct passwd* entry = ::getpwnam(user.c_str());
  if (!entry) {
    errors.push_back("--user " + user + ": no such user on this machine (create it first, or " +
                     "give --home)");
    return "/var/lib/visor";
  }
  const std::string directory = entry->pw_dir ? entry->pw_dir : "";
  std::error_code error;
  if (entry->pw_uid < 1000 || directory.empty() || directory == "/" ||
      !std::filesystem::is_directory(directory, error)) {
    return "/var/lib/visor";
  }
  return directory + "/.visor";
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{
      "visor: supervises a blockchain node and upgrades its binary when the network says so"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "visor " VISOR_VERSION);

  auto* wrap =
      app.add_subcommand("wrap", "supervise one node and upgrade it when the network says so");
  OptionFlags wrap_flags;
  wrap_flags.add_to(*wrap);

  auto* check = app.add_subcommand(
      "check", "validate the configuration exactly as wrap would, then probe the endpoints");
  OptionFlags check_flags;
  check_flags.add_to(*check);

  auto* config = app.add_subcommand(
      "config", "print wrap's effective configuration and where each value comes from");
  OptionFlags config_flags;
  config_flags.add_to(*config);
  bool config_json = false;
  config->add_flag("--json", config_json, "print JSON");

  auto* version = app.add_subcommand("version", "print visor's version");

  std::string home;
  auto* init = app.add_subcommand("init", "create the home layout; optionally import a binary");
  std::string import_path;
  init->add_option("--home", home, "the home directory [default: $HOME/.visor]");
  init->add_option("--import", import_path, "an existing binary to import as the first version");
  std::string from_cosmovisor;
  std::string from_vega_visor;
  init->add_option("--from-cosmovisor", from_cosmovisor,
                   "import a Cosmovisor home ($DAEMON_HOME): every binary, plans, current");
  init->add_option("--from-vega-visor", from_vega_visor,
                   "import a Vega Visor home (config.toml, run-config.toml, current)");

  auto* add_upgrade = app.add_subcommand(
      "add-upgrade", "stage a binary by hand, stored under the managed binary's name");
  AddUpgradeRequest upgrade;
  std::string add_config, add_cmd;
  add_upgrade->add_option("VERSION", upgrade.version, "the version the binary must report")
      ->required();
  add_upgrade->add_option("FILE", upgrade.file, "the binary to stage (any file name)")->required();
  add_upgrade->add_option("--home", home, "the home directory [default: $HOME/.visor]");
  add_upgrade->add_option(
      "--config", add_config,
      "wrap's config file, for the home and --cmd [default: <home>/config.json]");
  add_upgrade->add_option("--cmd", add_cmd,
                          "wrap's --cmd: its first word names the managed binary [default: "
                          "VISOR_CMD, config.json, the store's current binary]");
  add_upgrade->add_option("--plan", upgrade.plan,
                          "also map this Cosmos upgrade plan name to the version");
  add_upgrade->add_option("--binary", upgrade.binary,
                          "which binary of a service set's release FILE is (when the set runs "
                          "several; or give a folder holding every one)");
  add_upgrade->add_option("--version-args", upgrade.version_args,
                          "how the binary is asked its version [default: version]");
  std::string add_height;
  auto* add_height_option = add_upgrade->add_option(
      "--height", add_height,
      "switch when the chain reaches this block height (a visor running with --node)");
  add_upgrade->add_flag("--stage-only", upgrade.stage_only,
                        "only stage it: a visor with --source none does not switch to it");
  add_upgrade->add_flag("--force", upgrade.force,
                        "replace this version when it is already staged (never the current one)");

  auto* status = app.add_subcommand(
      "status", "show current/previous/staged/failed versions and the live state");
  bool status_json = false;
  status->add_option("--home", home, "the home directory [default: $HOME/.visor]");
  status->add_flag("--json", status_json, "print JSON");

  auto* create_service =
      app.add_subcommand("create-service", "print or write a systemd unit for visor");
  ServiceRequest service;
  create_service->add_option(
      "--cmd", service.cmd,
      "the node's command line [default: VISOR_CMD, else \"cmd\" (or \"children\") of the home's "
      "config.json]");
  create_service
      ->add_option("--child", service.children,
                   "NAME=COMMAND: one child of a service set (repeatable; instead of --cmd)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  create_service->add_option("--name", service.name,
                             "the unit's name [default: the binary's name]");
  create_service->add_option("--user", service.user, "the user the node runs as");
  create_service->add_option("--home", service.home,
                             "visor's home [default: --user's ~/.visor, /var/lib/visor for a "
                             "system user, else $HOME/.visor]");
  create_service->add_option("--output", service.output,
                             "write the unit to this file instead of stdout");
  create_service->add_option("--visor-args", service.extra_args,
                             "further wrap options, e.g. \"--profile lava-provider\"");
  create_service->add_option("--visor-path", service.visor_path,
                             "the visor binary for ExecStart= [default: the installed one]");

  if (const auto problems = misspellings(app, argc, argv); !problems.empty()) {
    for (const auto& problem : problems) std::cerr << "visor: error: " << problem << "\n";
    std::cerr << "visor: see `visor --help` or `visor COMMAND --help`\n";
    return kExitConfiguration;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? kExitOk : kExitConfiguration;
  }

  auto resolve_home = [&home]() {
    return home.empty() ? default_home() : expand_home(home, get_environment);
  };

  if (*version) {
    std::cout << "visor " << VISOR_VERSION << "\n";
    return kExitOk;
  }
  if (*wrap) {
    Preflight checked = preflight(load_from_flags(wrap_flags, true));
    if (!checked.loaded.errors.empty()) return report_errors(checked.loaded.errors);
    const Options& options = checked.loaded.options;
    log::setup(options.log_format, options.log_level);
    for (const auto& note : checked.loaded.notes) log::info("cosmovisor_environment", note);
    for (const auto& warning : checked.loaded.warnings) log::warn("configuration", warning);
    return run_daemon(options, *checked.binary);
  }
  if (*check) return run_check(preflight(load_from_flags(check_flags, true)));
  if (*config) return run_config(load_from_flags(config_flags, false), config_json);
  if (*init) {
    const int sources = !import_path.empty() + !from_cosmovisor.empty() + !from_vega_visor.empty();
    if (sources > 1) {
      std::cerr << "visor: error: init takes one of --import, --from-cosmovisor, "
                   "--from-vega-visor\n";
      return kExitConfiguration;
    }
    // What an import prints names folders and files of another tool's tree (outside text):
    // each line goes out bounded, as valid UTF-8, with control characters escaped.
    const auto printed_safely = [](const std::function<int(std::ostream&)>& import) {
      std::ostringstream report;
      const int code = import(report);
      std::istringstream lines(report.str());
      for (std::string line; std::getline(lines, line);)
        std::cout << outside_text(line, 4096) << "\n";
      return code;
    };
    if (!from_cosmovisor.empty()) {
      const char* daemon_name = std::getenv("DAEMON_NAME");
      return printed_safely([&](std::ostream& out) {
        return import_cosmovisor(resolve_home(), from_cosmovisor, daemon_name ? daemon_name : "",
                                 out);
      });
    }
    if (!from_vega_visor.empty()) {
      return printed_safely([&](std::ostream& out) {
        return import_vega_visor(resolve_home(), from_vega_visor, out);
      });
    }
    return run_init(resolve_home(), import_path);
  }
  if (*add_upgrade) {
    RawValues given;
    if (!home.empty()) given["home"] = RawValue{home, "--home"};
    if (!add_config.empty()) given["config"] = RawValue{add_config, "--config"};
    if (!add_cmd.empty()) given["cmd"] = RawValue{add_cmd, "--cmd"};
    LoadedConfig loaded = load_config(given, get_environment, false);
    // Only the home and the binary's name matter here; other settings are wrap's business.
    upgrade.home = loaded.options.home;
    upgrade.names = managed_names(loaded, upgrade.file);
    upgrade.name = upgrade.names.front();
    if (add_height_option->count() > 0) {
      auto height = parse_block_height(add_height);
      if (!height) {
        std::cerr << "visor: error: " << height.error() << "\n";
        return kExitConfiguration;
      }
      upgrade.height = height.value();
    }
    return run_add_upgrade(upgrade);
  }
  if (*status) return run_status(resolve_home(), status_json);
  if (*create_service) {
    std::vector<std::string> errors;
    service.home = service.home.empty() ? service_home(service.user, errors)
                                        : expand_home(service.home, get_environment);
    if (!service.home.empty() && service.home.front() != '/') {
      service.home = std::filesystem::absolute(service.home).lexically_normal().string();
    }
    // --visor-args are wrap's flags: parsed and validated by the very code wrap uses.
    CLI::App service_wrap{"visor wrap (from --visor-args)"};
    OptionFlags service_flags;
    service_flags.add_to(service_wrap);
    auto words = split_command_line(service.extra_args);
    if (!words) {
      errors.push_back("--visor-args: " + words.error());
    } else {
      std::vector<std::string> reversed(words->rbegin(), words->rend());
      try {
        service_wrap.parse(reversed);
      } catch (const CLI::ParseError& error) {
        const auto known = long_names(service_wrap);
        bool named = false;
        for (const auto& word : *words) {
          if (word.size() < 3 || word.rfind("--", 0) != 0) continue;
          const std::string name = word.substr(2, word.find('=') - 2);
          if (std::find(known.begin(), known.end(), name) != known.end()) continue;
          errors.push_back("--visor-args: unknown option --" + name +
                           did_you_mean(name, known, "--"));
          named = true;
        }
        if (!named) errors.push_back("--visor-args: " + std::string(error.what()));
      }
    }
    std::vector<std::string> given_errors;
    RawValues given = service_flags.given(given_errors);
    for (const char* own : {"cmd", "home"}) {
      if (given.count(own) > 0)
        errors.push_back("--visor-args: give --" + std::string(own) +
                         " to create-service itself, not in --visor-args");
    }
    // Without --cmd or --child, the node's command is wrap's own: VISOR_CMD or the home's
    // config.json (validated as wrap would, and written into the unit below).
    const bool command_given = !service.cmd.empty() || !service.children.empty();
    if (service.children.empty()) {
      if (!service.cmd.empty()) given["cmd"] = RawValue{service.cmd, "--cmd"};
    } else {  // a set: validated as wrap validates --child (and a --cmd beside them is an error)
      if (!service.cmd.empty()) given["cmd"] = RawValue{service.cmd, "--cmd"};
      given["child"] =
          RawValue{service.children.front(), "--child", OriginKind::flag, service.children};
    }
    given["home"] = RawValue{service.home, "--home"};
    Preflight checked = preflight(load_config(given, get_environment, true, environment_names()));
    errors.insert(errors.end(), checked.loaded.errors.begin(), checked.loaded.errors.end());
    if (!errors.empty()) return report_errors(errors);
    for (const auto& warning : checked.loaded.warnings)
      std::cerr << "visor: warning: " << warning << "\n";
    service.stop_timeout = checked.loaded.options.stop_timeout;
    if (!command_given) {
      const RawValues& effective = checked.loaded.effective;
      const auto& children = checked.loaded.options.children;
      if (effective.count("cmd") > 0 && children.size() == 1) {
        service.cmd = children.front().cmd;
      } else {
        for (const auto& child : children) service.children.push_back(child.name + "=" + child.cmd);
      }
      // From the home's own config.json, the command stays there: wrap reads it at every start
      // (with a set's per-child keys, which --child flags would replace). From the environment
      // (VISOR_CMD, DAEMON_NAME) or another --config, the unit must carry it.
      const auto from_file = [&effective](const char* key) {
        const auto found = effective.find(key);
        return found == effective.end() || found->second.kind == OriginKind::config_file;
      };
      const auto config = effective.find("config");
      const bool home_config =
          config == effective.end() || config->second.kind == OriginKind::default_value;
      service.command_in_home = home_config && from_file("cmd") && from_file("child");
    }
    return run_create_service(service);
  }
  return kExitConfiguration;
}

}  // namespace visor
