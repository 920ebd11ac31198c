#include "visor/ops/service_unit.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace visor {
namespace {

// The unit's lines, with backslash-continued lines joined the way systemd joins them.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream input(text);
  std::string line;
  std::string joined;
  while (std::getline(input, line)) {
    if (!line.empty() && line.back() == '\\') {
      joined += line.substr(0, line.size() - 1) + " ";
      continue;
    }
    lines.push_back(joined + line);
    joined.clear();
  }
  return lines;
}

// Collapses runs of blanks, as systemd's word splitting does not care about them.
std::string squeezed(const std::string& text) {
  std::string result;
  for (const char c : text) {
    if (c == ' ' && !result.empty() && result.back() == ' ') continue;
    result += c;
  }
  return result;
}

bool has_line(const std::string& text, const std::string& line) {
  for (const auto& candidate : lines_of(text)) {
    if (candidate == line) return true;
  }
  return false;
}

// The value of `Key=` in the unit; empty when absent; fails the test when it appears twice.
std::string value_of(const std::string& text, const std::string& key) {
  std::string value;
  int seen = 0;
  for (const auto& line : lines_of(text)) {
    if (line.rfind(key + "=", 0) == 0) {
      value = squeezed(line.substr(key.size() + 1));
      ++seen;
    }
  }
  EXPECT_LE(seen, 1) << key;
  return value;
}

ServiceRequest lavap_request() {
  ServiceRequest request;
  request.cmd = "lavap rpcprovider --geolocation 1 --log_level info";
  request.home = "/var/lib/visor";
  return request;
}

TEST(ServiceUnit, HasTheContractedSettings) {
  const std::string unit = render_service_unit(lavap_request(), "/usr/local/bin/visor");
  for (const char* line :
       {"[Unit]", "[Service]", "Type=notify", "NotifyAccess=main", "KillMode=mixed",
        "Restart=on-failure", "RestartSec=5", "RestartPreventExitStatus=2", "TimeoutStopSec=45s",
        "WatchdogSec=30", "LimitNOFILE=65535", "NoNewPrivileges=yes", "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/visor", "PrivateTmp=yes", "ProtectHome=read-only",
        "StateDirectory=visor", "[Install]", "WantedBy=multi-user.target"}) {
    EXPECT_TRUE(has_line(unit, line)) << line << "\n" << unit;
  }
  EXPECT_EQ(value_of(unit, "ExecStart"),
            "/usr/local/bin/visor wrap --home /var/lib/visor --cmd "
            "\"lavap rpcprovider --geolocation 1 --log_level info\"");
  EXPECT_EQ(value_of(unit, "User"), "");
  EXPECT_EQ(service_name(lavap_request()), "lavap");
}

TEST(ServiceUnit, ACommandOfTheHomesConfigFileIsLeftToWrap) {
  ServiceRequest request = lavap_request();
  request.cmd = "lavap rpcprovider --home /srv/lava";
  request.command_in_home = true;
  const std::string unit = render_service_unit(request, "/usr/local/bin/visor");
  EXPECT_EQ(value_of(unit, "ExecStart"), "/usr/local/bin/visor wrap --home /var/lib/visor");
  EXPECT_EQ(service_name(request), "lavap");  // still named after the node's binary
  EXPECT_NE(value_of(unit, "ReadWritePaths").find("/srv/lava"), std::string::npos) << unit;
}

TEST(ServiceUnit, UserNameAndExtraArguments) {
  ServiceRequest request = lavap_request();
  request.user = "lava";
  request.name = "lava-provider.service";
  request.extra_args = "--source lava --lava-rest https://rest.lava.build --stop-timeout 2m";
  const std::string unit = render_service_unit(request, "/opt/visor/bin/visor");
  EXPECT_EQ(value_of(unit, "User"), "lava");
  EXPECT_EQ(service_name(request), "lava-provider");
  EXPECT_EQ(value_of(unit, "SyslogIdentifier"), "lava-provider");
  EXPECT_EQ(value_of(unit, "ExecStart"),
            "/opt/visor/bin/visor wrap --home /var/lib/visor --cmd "
            "\"lavap rpcprovider --geolocation 1 --log_level info\" --source lava --lava-rest "
            "https://rest.lava.build --stop-timeout 2m");
  // systemd must outwait visor's own stop timeout.
  EXPECT_EQ(value_of(unit, "TimeoutStopSec"), "135s");
}

TEST(ServiceUnit, QuotesForSystemdsOwnWordSplitting) {
  EXPECT_EQ(quote_exec_word("plain-word_1.2:3=4,5+6@x/y"), "plain-word_1.2:3=4,5+6@x/y");
  EXPECT_EQ(quote_exec_word(""), "\"\"");
  EXPECT_EQ(quote_exec_word("two words"), "\"two words\"");
  EXPECT_EQ(quote_exec_word("50%"), "50%%");
  EXPECT_EQ(quote_exec_word("$HOME"), "$$HOME");
  EXPECT_EQ(quote_exec_word("a \"b\" \\c"), R"("a \"b\" \\c")");
  EXPECT_EQ(quote_exec_word("'single'"), "\"'single'\"");
  EXPECT_EQ(quote_exec_word(";"), "\";\"");
  EXPECT_EQ(quote_exec_word("x\ny\tz\x01"), R"("x\ny\tz\x01")");
  EXPECT_EQ(quote_exec_word("%h $x"), "\"%%h $$x\"");
}

TEST(ServiceUnit, TheCmdKeepsItsOwnQuotingInsideOneArgument) {
  ServiceRequest request = lavap_request();
  request.cmd = R"(lavap rpcprovider 'a b' "c d" --x=$HOME 100%)";
  const std::string unit = render_service_unit(request, "/usr/local/bin/visor");
  EXPECT_EQ(
      value_of(unit, "ExecStart"),
      R"(/usr/local/bin/visor wrap --home /var/lib/visor --cmd "lavap rpcprovider 'a b' \"c d\" --x=$$HOME 100%%")");
}

TEST(ServiceUnit, ProtectHomeOnlyWhenNothingWritableIsUnderHome) {
  ServiceRequest request = lavap_request();
  request.home = "/home/lava/.visor";
  std::string unit = render_service_unit(request, "/usr/local/bin/visor");
  EXPECT_EQ(value_of(unit, "ProtectHome"), "");
  EXPECT_EQ(value_of(unit, "ReadWritePaths"), "/home/lava/.visor");
  EXPECT_EQ(value_of(unit, "StateDirectory"), "");

  request.home = "/root/.visor";
  unit = render_service_unit(request, "/usr/local/bin/visor");
  EXPECT_EQ(value_of(unit, "ProtectHome"), "");

  request.home = "/homework/visor";  // not under /home
  unit = render_service_unit(request, "/usr/local/bin/visor");
  EXPECT_EQ(value_of(unit, "ProtectHome"), "read-only");

  // The node's own --home under /home is writable, so /home cannot be protected either.
  request.home = "/srv/visor";
  request.cmd = "lavap rpcprovider --home /home/lava/.lava";
  unit = render_service_unit(request, "/usr/local/bin/visor");
  EXPECT_EQ(value_of(unit, "ProtectHome"), "");
  EXPECT_EQ(value_of(unit, "ReadWritePaths"), "/srv/visor /home/lava/.lava");
}

TEST(ServiceUnit, TheLinkFolderIsWritable) {
  ServiceRequest request = lavap_request();
  request.extra_args = "--link=/usr/local/bin/lavap";
  const std::string unit = render_service_unit(request, "/usr/local/bin/visor");
  EXPECT_EQ(value_of(unit, "ReadWritePaths"), "/var/lib/visor /usr/local/bin");
}

TEST(ServiceUnit, RequestsAreChecked) {
  EXPECT_TRUE(check_service_request(lavap_request()).ok());
  ServiceRequest request = lavap_request();
  request.cmd = "lavap 'unterminated";
  EXPECT_NE(check_service_request(request).error().find("--cmd"), std::string::npos);
  request = lavap_request();
  request.cmd = "  ";
  EXPECT_NE(check_service_request(request).error().find("--cmd is empty"), std::string::npos);
  request = lavap_request();
  request.home = "relative/home";
  EXPECT_NE(check_service_request(request).error().find("absolute"), std::string::npos);
  request = lavap_request();
  request.user = "lava\nExecStartPre=/bin/evil";
  EXPECT_NE(check_service_request(request).error().find("--user"), std::string::npos);
  request = lavap_request();
  request.name = "la va";
  EXPECT_NE(check_service_request(request).error().find("--name"), std::string::npos);
  request = lavap_request();
  request.extra_args = "--x \"open";
  EXPECT_NE(check_service_request(request).error().find("--visor-args"), std::string::npos);
}

TEST(ServiceUnit, ASetRunsEveryChildAndCanWriteEachChildsHome) {
  ServiceRequest request;
  request.home = "/var/lib/visor";
  request.children = {"core=vega start --home /srv/vega",
                      "datanode=vega datanode start --home /srv/datanode"};
  request.extra_args = "--profile vega";
  ASSERT_TRUE(check_service_request(request).ok()) << check_service_request(request).error();
  const std::string unit = render_service_unit(request, "/usr/local/bin/visor");
  EXPECT_EQ(value_of(unit, "ExecStart"),
            "/usr/local/bin/visor wrap --home /var/lib/visor --child "
            "\"core=vega start --home /srv/vega\" --child "
            "\"datanode=vega datanode start --home /srv/datanode\" --profile vega");
  EXPECT_EQ(value_of(unit, "ReadWritePaths"), "/var/lib/visor /srv/vega /srv/datanode");
  EXPECT_EQ(value_of(unit, "Description"), "vega (2 children) supervised by visor");
  EXPECT_EQ(service_name(request), "vega");
  // The children stop one after the other, 30 s each at most, then 15 s of margin.
  EXPECT_EQ(value_of(unit, "TimeoutStopSec"), "75s");
}

TEST(ServiceUnit, SetRequestsAreChecked) {
  ServiceRequest request;
  request.home = "/var/lib/visor";
  request.children = {"Eth=lavap a", "osmo", "x=", "y=lavap 'open", "z=lavap", "z=lavap"};
  const std::string error = check_service_request(request).error();
  for (const char* part :
       {"invalid child name 'Eth'", "expected NAME=COMMAND, got 'osmo'",
        "--child x: the command line is empty", "--child y: ", "child name 'z' is used twice"}) {
    EXPECT_NE(error.find(part), std::string::npos) << part << "\n" << error;
  }
  request.children = {"a=lavap"};
  request.cmd = "lavap";
  EXPECT_NE(check_service_request(request).error().find("--cmd cannot be combined with --child"),
            std::string::npos);
}

TEST(ServiceUnit, EveryDataFolderOfTheNodeIsWritable) {
  // Any absolute path given to an option naming a home or a dir, in both spellings.
  EXPECT_EQ(node_data_paths({"vega", "start", "--home", "/srv/vega", "--tendermint-home=/srv/tm",
                             "--log-dir", "/var/log/vega/", "--nodewallet-passphrase-file",
                             "/etc/pass", "--home", "relative"}),
            (std::vector<std::string>{"/srv/vega", "/srv/tm", "/var/log/vega/"}));
  ServiceRequest request = lavap_request();
  request.cmd = "vega start --home /srv/vega --tendermint-home /srv/tm";
  EXPECT_EQ(value_of(render_service_unit(request, "/usr/bin/visor"), "ReadWritePaths"),
            "/var/lib/visor /srv/vega /srv/tm");
}

TEST(ServiceUnit, TheEffectiveStopTimeoutWins) {
  ServiceRequest request = lavap_request();
  request.extra_args = "--stop-timeout 2m";
  request.stop_timeout = Duration(60000);  // e.g. from config.json, resolved by the caller
  EXPECT_EQ(value_of(render_service_unit(request, "/usr/bin/visor"), "TimeoutStopSec"), "75s");
}

}  // namespace
}  // namespace visor
