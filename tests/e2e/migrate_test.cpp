// End-to-end: `visor init --from-cosmovisor` and `--from-vega-visor` on real-shaped trees (the
// folders, symlinks and TOML files those tools create), then the imported setup run by the real
// build/visor.
#include <signal.h>
#include <sys/stat.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "e2e_util.h"

namespace visor::e2e {
namespace {

namespace fs = std::filesystem;

class Migrate : public ::testing::Test {
 protected:
  std::string home() const { return dir_ / "home"; }
  // write_stand_in and write_file with the parent folders created first.
  static void stand_in(const std::string& path, const std::string& version) {
    fs::create_directories(fs::path(path).parent_path());
    write_stand_in(path, version);
  }
  static void put(const std::string& path, const std::string& content) {
    fs::create_directories(fs::path(path).parent_path());
    write_file(path, content);
  }
  nlohmann::json read_json(const std::string& path) const {
    return nlohmann::json::parse(read_file(path));
  }
  bool running(const std::string& version) const {
    return argv_file_says_running(dir_ / "argv", version);
  }
  TempDir dir_;
};

// A Cosmovisor home as `cosmovisor init` and two upgrades leave it: genesis, two plans, `current`
// (an absolute symlink, as Cosmovisor writes it) pointing at the first upgrade.
TEST_F(Migrate, CosmovisorHomeWhoseCurrentIsAnUpgrade) {
  const std::string node_home = dir_ / "gaia";
  const std::string tree = node_home + "/cosmovisor";
  stand_in(tree + "/genesis/bin/gaiad", "1.0.0");
  stand_in(tree + "/upgrades/v2/bin/gaiad", "2.0.0");
  stand_in(tree + "/upgrades/gov-upgrade-3/bin/gaiad", "3.0.0");
  fs::create_symlink(tree + "/upgrades/v2", tree + "/current");
  fs::create_directories(node_home + "/data");
  write_file(node_home + "/data/upgrade-info.json", R"({"name":"v2","height":100,"info":""})");

  Process init({visor_binary(), "init", "--home", home(), "--from-cosmovisor", node_home},
               dir_ / "init.log", {}, {"DAEMON_NAME"});
  ASSERT_EQ(init.wait(20s), 0) << init.output();
  for (const char* version : {"1.0.0", "2.0.0", "3.0.0"}) {
    EXPECT_TRUE(fs::exists(home() + "/upgrades/" + version + "/gaiad")) << version;
  }
  EXPECT_EQ(fs::read_symlink(home() + "/current").string(), "upgrades/2.0.0");
  const auto state = read_json(home() + "/state.json");
  EXPECT_EQ(state["plans"]["v2"], "2.0.0") << state.dump();
  EXPECT_EQ(state["plans"]["gov-upgrade-3"], "3.0.0") << state.dump();
  const auto config = read_json(home() + "/config.json");
  EXPECT_EQ(config["profile"], "cosmos");
  EXPECT_EQ(config["upgrade-info"], node_home + "/data/upgrade-info.json");

  // The old command line, `cosmovisor run start ...`, becomes `visor wrap -- start ...`: the
  // imported current version runs, and the chain halting for the next plan needs no download.
  Process visor({visor_binary(), "wrap", "--home", home(), "--healthy-after", "1s", "--", "start",
                 "--argv-file", dir_ / "argv", "--pid-file", dir_ / "pids"},
                dir_ / "visor.log", {{"DAEMON_NAME", "gaiad"}, {"DAEMON_HOME", node_home}});
  ASSERT_TRUE(wait_until([&] { return running("2.0.0"); }, 15s)) << visor.output();
  EXPECT_NE(visor.output().find("DAEMON_NAME"), std::string::npos) << visor.output();
  replace_file(node_home + "/data/upgrade-info.json",
               R"({"name":"gov-upgrade-3","height":200,"info":""})");
  ASSERT_TRUE(wait_until([&] { return running("3.0.0"); }, 20s)) << visor.output();
  visor.signal(SIGTERM);
  EXPECT_EQ(visor.wait(15s), 128 + SIGTERM);
}

TEST_F(Migrate, NotACosmovisorHomeIsAConfigurationError) {
  fs::create_directories(dir_ / "empty");
  Process init({visor_binary(), "init", "--home", home(), "--from-cosmovisor", dir_ / "empty"},
               dir_ / "init.log");
  EXPECT_EQ(init.wait(15s), 2);
  EXPECT_NE(init.output().find("not a Cosmovisor home"), std::string::npos) << init.output();
}

// A Vega Visor home: config.toml, a genesis folder and an upgrade folder each with its
// run-config.toml and binary, `current` pointing at the upgrade, which also runs a data node.
TEST_F(Migrate, VegaVisorHomeBecomesAServiceSetWithTheSameArguments) {
  const std::string tree = dir_ / "vegavisor";
  put(tree + "/config.toml", R"(# Vega Visor configuration
maxNumberOfRestarts = 3
restartsDelaySeconds = 5
stopDelaySeconds = 0
stopSignalTimeoutSeconds = 15
maxNumberOfFirstConnectionRetries = 43200

[upgradeFolders]
  "v0.79.0" = "v0.79.0"

[autoInstall]
  enabled = true
  repositoryOwner = "vegaprotocol"
  repository = "vega"
  [autoInstall.asset]
    name = "vega-linux-amd64.zip"
    binaryName = "vega"
)");
  stand_in(tree + "/genesis/vega", "0.78.2");
  put(tree + "/genesis/run-config.toml", R"(name = "genesis"

[vega]
  [vega.binary]
    path = "vega"
    args = ["start", "--home", "/srv/vega", "--tendermint-home", "/srv/tm"]
  [vega.rpc]
    socketPath = "/run/vega/admin.sock"
    httpPath = "/rpc"
)");
  stand_in(tree + "/v0.79.0/vega", "0.79.0");
  put(tree + "/v0.79.0/run-config.toml", R"(name = "v0.79.0"

[vega]
  [vega.binary]
    path = "vega"
    args = ["start", "--home", "/srv/vega", "--tendermint-home", "/srv/tm",
            "--snapshot.load-from-block-height", "1200"]
  [vega.rpc]
    socketPath = "/run/vega/admin.sock"
    httpPath = "/rpc"

[data_node]
  [data_node.binary]
    path = "vega"
    args = ["datanode", "start", "--home", "/srv/datanode"]
)");
  fs::create_symlink(tree + "/v0.79.0", tree + "/current");

  Process init({visor_binary(), "init", "--home", home(), "--from-vega-visor", tree},
               dir_ / "init.log");
  ASSERT_EQ(init.wait(20s), 0) << init.output();
  EXPECT_TRUE(fs::exists(home() + "/upgrades/0.78.2/vega"));
  EXPECT_TRUE(fs::exists(home() + "/upgrades/0.79.0/vega"));
  EXPECT_EQ(fs::read_symlink(home() + "/current").string(), "upgrades/0.79.0");
  const auto config = read_json(home() + "/config.json");
  EXPECT_EQ(config["profile"], "vega");
  EXPECT_EQ(config["vega-admin-socket"], "/run/vega/admin.sock");
  EXPECT_EQ(config["vega-admin-path"], "/rpc");
  ASSERT_TRUE(config["children"].is_array()) << config.dump();
  ASSERT_EQ(config["children"].size(), 2u);
  EXPECT_EQ(config["children"][0]["name"], "core");
  // The fixed snapshot height of the last upgrade is not carried over: visor adds the flag.
  EXPECT_EQ(config["children"][0]["cmd"], "vega start --home /srv/vega --tendermint-home /srv/tm");
  EXPECT_EQ(config["children"][1]["name"], "datanode");
  EXPECT_EQ(config["children"][1]["cmd"], "vega datanode start --home /srv/datanode");
  EXPECT_EQ(config["max-restarts"], 3);
  EXPECT_EQ(config["backoff-initial"], "5s");
  EXPECT_EQ(config["stop-timeout"], "15s");
  // The set it wrote is one wrap accepts: the data node gets no snapshot flag, the group is
  // together (profile vega).
  const auto effective = run_command("'" + visor_binary() + "' config --json --config '" + home() +
                                     "/config.json' --home '" + home() + "'");
  EXPECT_EQ(effective.status, 0) << effective.output;
  EXPECT_NE(effective.output.find("\"together\""), std::string::npos) << effective.output;
}

TEST_F(Migrate, VegaVisorHomeWithoutADataNodeRunsOneCommand) {
  const std::string tree = dir_ / "vegavisor";
  put(tree + "/config.toml", "maxNumberOfRestarts = 5\n[upgradeFolders]\n");
  stand_in(tree + "/genesis/vega", "0.78.2");
  put(tree + "/genesis/run-config.toml",
      "name = \"genesis\"\n[vega.binary]\npath = \"vega\"\nargs = [\"start\", \"--home\", "
      "\"/srv/my vega\"]\n");
  fs::create_symlink("genesis", tree + "/current");
  Process init({visor_binary(), "init", "--home", home(), "--from-vega-visor", tree},
               dir_ / "init.log");
  ASSERT_EQ(init.wait(20s), 0) << init.output();
  const auto config = read_json(home() + "/config.json");
  EXPECT_EQ(config["cmd"], "vega start --home '/srv/my vega'") << config.dump();
  EXPECT_FALSE(config.contains("children"));
  EXPECT_EQ(fs::read_symlink(home() + "/current").string(), "upgrades/0.78.2");

  // A broken TOML file is one clear error.
  put(tree + "/config.toml", "maxNumberOfRestarts = = 5\n");
  Process broken({visor_binary(), "init", "--home", dir_ / "home2", "--from-vega-visor", tree},
                 dir_ / "broken.log");
  EXPECT_EQ(broken.wait(15s), 2);
  EXPECT_NE(broken.output().find("config.toml"), std::string::npos) << broken.output();
}

// Cosmovisor keeps plan "a/b" in upgrades/a%2Fb (url.PathEscape): the plan is mapped by its
// name, the one upgrade-info.json carries, not by the folder's spelling.
TEST_F(Migrate, CosmovisorUpgradeFolderNamesAreMappedToTheirPlanNames) {
  const std::string node_home = dir_ / "gaia";
  const std::string tree = node_home + "/cosmovisor";
  stand_in(tree + "/genesis/bin/gaiad", "1.0.0");
  stand_in(tree + "/upgrades/v2%2Fhotfix/bin/gaiad", "2.0.1");
  Process init({visor_binary(), "init", "--home", home(), "--from-cosmovisor", node_home},
               dir_ / "init.log", {}, {"DAEMON_NAME"});
  ASSERT_EQ(init.wait(20s), 0) << init.output();
  const auto state = read_json(home() + "/state.json");
  EXPECT_EQ(state["plans"]["v2/hotfix"], "2.0.1") << state.dump();
  EXPECT_FALSE(state["plans"].contains("v2%2Fhotfix")) << state.dump();
}

// Folder names of the imported tree are outside text: what init prints of them is escaped, so
// that a name holding a newline or a terminal escape cannot forge or garble its report.
TEST_F(Migrate, FolderNamesInTheImportReportAreEscaped) {
  const std::string node_home = dir_ / "gaia";
  const std::string tree = node_home + "/cosmovisor";
  stand_in(tree + "/genesis/bin/gaiad", "1.0.0");
  const std::string hostile = "v2\nimported everything\x1b[31m";
  fs::create_directories(tree + "/upgrades/" + hostile);  // no bin/gaiad: reported as skipped
  Process init({visor_binary(), "init", "--home", home(), "--from-cosmovisor", node_home},
               dir_ / "init.log", {}, {"DAEMON_NAME"});
  ASSERT_EQ(init.wait(20s), 0) << init.output();
  const std::string output = init.output();
  EXPECT_EQ(output.find('\x1b'), std::string::npos) << output;
  EXPECT_EQ(output.find("\nimported everything"), std::string::npos) << output;
  EXPECT_NE(output.find("v2\\nimported everything"), std::string::npos) << output;
}

// `current` names the version the node's data is at. One that cannot be kept (its target is
// missing, outside the tree, a loop, or a folder without the binary) is refused with one line
// naming it, and nothing is imported: genesis taking its place would start the node on a binary
// its data has moved past.
TEST_F(Migrate, ACosmovisorCurrentThatCannotBeKeptIsRefusedAndNothingImported) {
  const std::string outside = dir_ / "outside";
  stand_in(outside + "/bin/gaiad", "9.0.0");
  const std::vector<std::pair<std::string, std::string>> cases = {{"missing", "upgrades/v3"},
                                                                  {"outside", outside},
                                                                  {"loop", "current"},
                                                                  {"no-binary", "upgrades/empty"}};
  for (const auto& [label, target] : cases) {
    const std::string node_home = dir_ / label;
    const std::string tree = node_home + "/cosmovisor";
    stand_in(tree + "/genesis/bin/gaiad", "1.0.0");
    stand_in(tree + "/upgrades/v2/bin/gaiad", "2.0.0");
    fs::create_directories(tree + "/upgrades/empty/bin");
    fs::create_symlink(target, tree + "/current");
    const std::string target_home = dir_ / ("home-" + label);
    Process init({visor_binary(), "init", "--home", target_home, "--from-cosmovisor", node_home},
                 dir_ / ("init-" + label + ".log"), {}, {"DAEMON_NAME"});
    EXPECT_EQ(init.wait(20s), 2) << label << ": " << init.output();
    EXPECT_NE(init.output().find(tree + "/current"), std::string::npos)
        << label << ": " << init.output();
    EXPECT_EQ(count_occurrences(init.output(), "error"), 1) << label << ": " << init.output();
    std::error_code ignored;
    EXPECT_FALSE(fs::exists(fs::symlink_status(target_home + "/current", ignored)))
        << label << ": " << init.output();
  }
}

// A binary that cannot tell its version leaves nothing behind: once it is fixed, the same
// command imports the tree.
TEST_F(Migrate, AFailedProbeImportsNothingSoTheSameCommandWorksOnceFixed) {
  const std::string node_home = dir_ / "gaia";
  const std::string tree = node_home + "/cosmovisor";
  stand_in(tree + "/genesis/bin/gaiad", "1.0.0");
  stand_in(tree + "/upgrades/v2/bin/gaiad", "2.0.0");
  fs::create_symlink(tree + "/upgrades/v2", tree + "/current");
  fs::permissions(tree + "/upgrades/v2/bin/gaiad",
                  fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                  fs::perm_options::remove);
  Process first({visor_binary(), "init", "--home", home(), "--from-cosmovisor", node_home},
                dir_ / "first.log", {}, {"DAEMON_NAME"});
  EXPECT_EQ(first.wait(20s), 1) << first.output();
  EXPECT_NE(first.output().find("upgrade v2"), std::string::npos) << first.output();
  EXPECT_FALSE(fs::exists(home() + "/upgrades/1.0.0")) << first.output();
  EXPECT_FALSE(fs::exists(home() + "/config.json")) << first.output();

  fs::permissions(tree + "/upgrades/v2/bin/gaiad", fs::perms::owner_exec, fs::perm_options::add);
  Process second({visor_binary(), "init", "--home", home(), "--from-cosmovisor", node_home},
                 dir_ / "second.log", {}, {"DAEMON_NAME"});
  ASSERT_EQ(second.wait(20s), 0) << second.output();
  EXPECT_EQ(fs::read_symlink(home() + "/current").string(), "upgrades/2.0.0");
}

// A home that already holds a store (here another daemon's) is not mixed with a second setup,
// and its `current` does not move.
TEST_F(Migrate, AnImportIntoAHomeThatHoldsAStoreIsRefused) {
  const std::string first_tree = dir_ / "gaia";
  stand_in(first_tree + "/cosmovisor/genesis/bin/gaiad", "1.0.0");
  Process first({visor_binary(), "init", "--home", home(), "--from-cosmovisor", first_tree},
                dir_ / "first.log", {}, {"DAEMON_NAME"});
  ASSERT_EQ(first.wait(20s), 0) << first.output();

  const std::string second_tree = dir_ / "osmosis";
  stand_in(second_tree + "/cosmovisor/genesis/bin/osmosisd", "7.0.0");
  Process second({visor_binary(), "init", "--home", home(), "--from-cosmovisor", second_tree},
                 dir_ / "second.log", {}, {"DAEMON_NAME"});
  EXPECT_EQ(second.wait(20s), 2) << second.output();
  EXPECT_NE(second.output().find(home()), std::string::npos) << second.output();
  EXPECT_EQ(fs::read_symlink(home() + "/current").string(), "upgrades/1.0.0");
  EXPECT_FALSE(fs::exists(home() + "/upgrades/7.0.0"));

  const std::string vega_tree = dir_ / "vegavisor";
  put(vega_tree + "/config.toml", "[upgradeFolders]\n");
  stand_in(vega_tree + "/genesis/vega", "0.78.2");
  put(vega_tree + "/genesis/run-config.toml",
      "[vega.binary]\npath = \"vega\"\nargs = [\"start\"]\n");
  Process vega({visor_binary(), "init", "--home", home(), "--from-vega-visor", vega_tree},
               dir_ / "vega.log");
  EXPECT_EQ(vega.wait(20s), 2) << vega.output();
  EXPECT_EQ(fs::read_symlink(home() + "/current").string(), "upgrades/1.0.0");
  EXPECT_FALSE(fs::exists(home() + "/upgrades/0.78.2"));
}

// Vega Visor's `current` likewise: one that leads nowhere or outside the tree is refused, not
// replaced by genesis.
TEST_F(Migrate, AVegaVisorCurrentThatCannotBeKeptIsRefused) {
  const std::string outside = dir_ / "elsewhere";
  put(outside + "/run-config.toml", "[vega.binary]\npath = \"vega\"\n");
  stand_in(outside + "/vega", "0.80.0");
  for (const std::string& target : {std::string("v0.79.0"), outside}) {
    const std::string tree = dir_ / ("vegavisor-" + std::to_string(target.size()));
    put(tree + "/config.toml", "[upgradeFolders]\n");
    stand_in(tree + "/genesis/vega", "0.78.2");
    put(tree + "/genesis/run-config.toml", "[vega.binary]\npath = \"vega\"\nargs = [\"start\"]\n");
    fs::create_symlink(target, tree + "/current");
    const std::string target_home = dir_ / ("home-" + std::to_string(target.size()));
    Process init({visor_binary(), "init", "--home", target_home, "--from-vega-visor", tree},
                 dir_ / ("init-" + std::to_string(target.size()) + ".log"));
    EXPECT_EQ(init.wait(15s), 2) << target << ": " << init.output();
    EXPECT_NE(init.output().find(tree + "/current"), std::string::npos) << init.output();
    std::error_code ignored;
    EXPECT_FALSE(fs::exists(fs::symlink_status(target_home + "/current", ignored)))
        << target << ": " << init.output();
  }
}

// `current` leads to a folder whose run-config.toml names a binary that is not there: that is
// the version the node's data belongs to, so the import is refused rather than leaving the
// store without a current version (the first wrap would take any `vega` on PATH).
TEST_F(Migrate, AVegaVisorCurrentWhoseBinaryIsMissingIsRefused) {
  const std::string tree = dir_ / "vegavisor";
  put(tree + "/config.toml", "[upgradeFolders]\n\"v0.79.0\" = \"v0.79.0\"\n");
  stand_in(tree + "/genesis/vega", "0.78.2");
  put(tree + "/genesis/run-config.toml", "[vega.binary]\npath = \"vega\"\n");
  put(tree + "/v0.79.0/run-config.toml", "[vega.binary]\npath = \"vega\"\n");  // no binary
  fs::create_symlink("v0.79.0", tree + "/current");
  Process init({visor_binary(), "init", "--home", dir_ / "home", "--from-vega-visor", tree},
               dir_ / "init.log");
  EXPECT_EQ(init.wait(15s), 2) << init.output();
  EXPECT_NE(init.output().find(tree + "/v0.79.0/vega"), std::string::npos) << init.output();
  std::error_code ignored;
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir_ / "home/current", ignored))) << init.output();
}

// A FIFO where Vega Visor's TOML files belong is an error, never a hang.
TEST_F(Migrate, SpecialFilesForVegaVisorsTomlAreAnErrorNeverAHang) {
  for (const std::string file : {"config.toml", "genesis/run-config.toml"}) {
    const std::string tree = dir_ / ("vegavisor-" + std::to_string(file.size()));
    put(tree + "/config.toml", "[upgradeFolders]\n");
    stand_in(tree + "/genesis/vega", "0.78.2");
    put(tree + "/genesis/run-config.toml", "[vega.binary]\npath = \"vega\"\n");
    fs::remove(tree + "/" + file);
    ASSERT_EQ(mkfifo((tree + "/" + file).c_str(), 0644), 0);
    Process init({visor_binary(), "init", "--home", dir_ / ("home-" + std::to_string(file.size())),
                  "--from-vega-visor", tree},
                 dir_ / "init.log");
    EXPECT_EQ(init.wait(15s), 2) << file << ": " << init.output();
    EXPECT_NE(init.output().find(file), std::string::npos) << init.output();
  }
}

}  // namespace
}  // namespace visor::e2e
