// End-to-end: the names of the product contract, checked from outside as a user's script would
// see them: every command and its options in `--help`, every option of `wrap` with its default
// in `visor config --json`, and each of them in docs/configuration.md with that default. The
// expected names and defaults are the contract's (its sections 2 and 3), not the program's.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "e2e_util.h"

namespace visor::e2e {
namespace {

std::string visor_command(const std::string& arguments) {
  return "'" + visor_binary() + "' " + arguments;
}

// The options of `wrap` in the contract, with the default it states ("" when it states none, a
// dash). The home and the vega socket are checked with HOME and TMPDIR set by the test.
struct ContractOption {
  const char* name;
  const char* effective_default;   ///< what `visor config` shows with nothing set; "" for unset
  const char* documented_default;  ///< what the reference's default column must say
};

const std::vector<ContractOption>& contract_options() {
  static const std::vector<ContractOption> options{
      {"home", "@HOME@/.visor", "$HOME/.visor"},
      {"source", "none", "none"},
      {"poll-interval", "1s", "lava `15s`, vega `1s`, cosmos `1s`"},
      {"lava-rest", "", "—"},
      {"lava-role", "provider", "provider"},
      {"upgrade-at", "target", "target"},
      {"vega-admin-socket", "@TMPDIR@/vega.sock", "$TMPDIR/vega.sock"},
      {"vega-admin-path", "/rpc", "/rpc"},
      {"upgrade-info", "", "—"},
      {"download-url", "", "—"},
      {"checksum-url", "", "—"},
      {"insecure-skip-checksum", "false", "off"},
      {"allow-http", "false", "off"},
      {"version-args", "version", "version"},
      {"stop-signal", "TERM", "TERM"},
      {"stop-timeout", "30s", "30s"},
      {"restart", "on-failure", "on-failure"},
      {"backoff-initial", "1s", "1s"},
      {"backoff-max", "60s", "60s"},
      {"max-restarts", "10", "10"},
      {"restart-window", "10m", "10m"},
      {"healthy-after", "10s", "10s"},
      {"ready-pattern", "", "—"},
      {"upgrade-args", "", "—"},
      {"pre-upgrade", "", "—"},
      {"post-upgrade", "", "—"},
      {"link", "", "—"},
      {"stdin-file", "", "—"},
      {"child", "", "—"},
      {"group", "independent", "independent"},
      {"node", "", "—"},
      {"chain-id", "", "—"},
      {"plan-downloads", "on", "on"},
      {"health-listen", "", "off"},
      {"log-format", "text", "text"},
      {"log-level", "info", "info"},
  };
  return options;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

TEST(ContractNames, EveryCommandAndItsOptionsAreInTheHelp) {
  const CommandResult top = run_command(visor_command("--help"));
  ASSERT_EQ(top.status, 0) << top.output;
  const std::vector<std::pair<std::string, std::vector<std::string>>> commands{
      {"wrap", {"--cmd"}},
      {"init", {"--home", "--import", "--from-cosmovisor", "--from-vega-visor"}},
      {"add-upgrade", {"--plan", "--height", "--stage-only", "--force", "--home"}},
      {"status", {"--home", "--json"}},
      {"config", {"--cmd"}},
      {"create-service", {"--cmd", "--name", "--user", "--home", "--output"}},
      {"check", {"--cmd"}},
      {"version", {}},
  };
  for (const auto& [command, options] : commands) {
    EXPECT_TRUE(std::regex_search(top.output, std::regex("\\n  " + command + " ")))
        << command << " missing from visor --help:\n"
        << top.output;
    const CommandResult help = run_command(visor_command(command + " --help"));
    EXPECT_EQ(help.status, 0) << command << ": " << help.output;
    for (const auto& option : options) {
      EXPECT_TRUE(std::regex_search(help.output, std::regex(option + "[ ,=]")))
          << option << " missing from visor " << command << " --help:\n"
          << help.output;
    }
  }
  const CommandResult version = run_command(visor_command("version"));
  EXPECT_EQ(version.status, 0);
  EXPECT_TRUE(std::regex_match(version.output, std::regex("visor \\d+\\.\\d+\\.\\d+\\S*\\n")))
      << version.output;
}

TEST(ContractNames, EveryWrapOptionHasTheContractsDefault) {
  TempDir dir;
  const std::string environment =
      "env -i PATH=/usr/bin:/bin HOME='" + dir.path() + "' TMPDIR='" + dir.path() + "' ";
  const CommandResult help = run_command(environment + visor_command("wrap --help"));
  const CommandResult config =
      run_command(environment + visor_command("config --json --cmd 'sleep 1'"), false);
  ASSERT_EQ(config.status, 0) << config.output;
  const auto document = nlohmann::json::parse(config.output, nullptr, false);
  ASSERT_TRUE(document.is_object() && document["options"].is_object()) << config.output;
  for (const auto& option : contract_options()) {
    SCOPED_TRACE(option.name);
    EXPECT_TRUE(std::regex_search(help.output, std::regex(std::string("--") + option.name + " ")))
        << help.output;
    const auto& entry = document["options"][option.name];
    ASSERT_TRUE(entry.is_object()) << config.output;
    const std::string expected = replace_all(
        replace_all(option.effective_default, "@HOME@", dir.path()), "@TMPDIR@", dir.path());
    if (expected.empty()) {
      EXPECT_TRUE(entry["value"].is_null()) << entry.dump();
    } else {
      EXPECT_EQ(entry["value"], expected) << entry.dump();
      EXPECT_EQ(entry["origin"], "default") << entry.dump();
    }
  }
}

TEST(ContractNames, TheConfigurationReferenceListsEveryOptionWithItsDefault) {
  const std::string reference = read_file(std::string(VISOR_SOURCE_DIR) + "/docs/configuration.md");
  for (const auto& option : contract_options()) {
    SCOPED_TRACE(option.name);
    const std::string row_start = std::string("| `--") + option.name + "` | ";
    const auto row = reference.find(row_start);
    ASSERT_NE(row, std::string::npos) << "no row for --" << option.name;
    const std::string line = reference.substr(row, reference.find('\n', row) - row);
    // | `--name` | `VISOR_NAME` | default | meaning |
    std::vector<std::string> cells;
    std::stringstream cells_of(line);
    std::string cell;
    while (std::getline(cells_of, cell, '|')) cells.push_back(cell);
    ASSERT_GE(cells.size(), 4u) << line;
    std::string environment_name = std::string("VISOR_") + option.name;
    for (char& c : environment_name) c = c == '-' ? '_' : static_cast<char>(std::toupper(c));
    EXPECT_NE(cells[2].find("`" + environment_name + "`"), std::string::npos) << line;
    EXPECT_NE(cells[3].find(option.documented_default), std::string::npos)
        << "default column of --" << option.name << ": '" << cells[3] << "', contract: '"
        << option.documented_default << "'";
  }
}

}  // namespace
}  // namespace visor::e2e
