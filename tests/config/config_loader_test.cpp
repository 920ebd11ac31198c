#include "visor/config/config_loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace visor {
namespace {

class ConfigLoader : public ::testing::Test {
 protected:
  ConfigLoader() {
    char pattern[] = "/tmp/visor-config-XXXXXX";
    directory_ = mkdtemp(pattern);
    environment_["HOME"] = directory_;
  }
  ~ConfigLoader() override { std::filesystem::remove_all(directory_); }

  LoadedConfig load(RawValues flags, bool require_command = true) {
    return load_config(
        flags,
        [this](const char* name) -> const char* {
          auto it = environment_.find(name);
          return it == environment_.end() ? nullptr : it->second.c_str();
        },
        require_command, names_);
  }
  static RawValue flag(const std::string& value, const std::string& name) {
    return {value, "--" + name};
  }
  std::string write_config(const std::string& content) {
    const std::string path = directory_ + "/config.json";
    std::ofstream(path) << content;
    return path;
  }

  std::string directory_;
  std::map<std::string, std::string> environment_;
  std::vector<std::string> names_;  // every variable set, for the unknown VISOR_* warning
};

TEST_F(ConfigLoader, MisspeltKeysAndFlagsNameTheClosestOption) {
  environment_["VISOR_HOME"] = directory_;
  write_config(R"({"cmd": "lavap", "lava_rest": "http://x:1317", "stop-timout": "5s"})");
  auto loaded = load({{"lava-rst", flag("http://y", "lava-rst")}});
  ASSERT_EQ(loaded.errors.size(), 3u);
  std::string all;
  for (const auto& error : loaded.errors) all += error + "\n";
  EXPECT_NE(all.find("unknown key 'lava_rest' (did you mean 'lava-rest'?)"), std::string::npos)
      << all;
  EXPECT_NE(all.find("unknown key 'stop-timout' (did you mean 'stop-timeout'?)"), std::string::npos)
      << all;
  EXPECT_NE(all.find("unknown option --lava-rst (did you mean '--lava-rest'?)"), std::string::npos)
      << all;
}

TEST_F(ConfigLoader, AnUnknownVisorVariableIsOneWarningNamingTheClosest) {
  environment_["VISOR_POLL_INTERVALL"] = "2s";
  names_ = {"PATH", "VISOR_POLL_INTERVALL", "VISOR_UPGRADE_VERSION", "VISOR_HOME"};
  auto loaded = load({{"cmd", flag("lavap", "cmd")}});
  EXPECT_TRUE(loaded.errors.empty());
  ASSERT_EQ(loaded.warnings.size(), 1u);
  EXPECT_NE(loaded.warnings[0].find("VISOR_POLL_INTERVALL"), std::string::npos);
  EXPECT_NE(loaded.warnings[0].find("VISOR_POLL_INTERVAL,"), std::string::npos)
      << loaded.warnings[0];
  EXPECT_NE(loaded.warnings[0].find("--poll-interval"), std::string::npos);
}

TEST_F(ConfigLoader, TildeInPathsIsTheUsersHome) {
  std::filesystem::create_directories(directory_ + "/custom");
  std::ofstream(directory_ + "/custom/visor.json") << R"({"stdin-file": "~/custom/visor.json"})";
  auto loaded = load({{"cmd", flag("lavap", "cmd")},
                      {"home", flag("~/node-home", "home")},
                      {"config", flag("~/custom/visor.json", "config")}});
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errors.front();
  EXPECT_EQ(loaded.options.home, directory_ + "/node-home");
  EXPECT_EQ(loaded.options.stdin_file, directory_ + "/custom/visor.json");
}

TEST_F(ConfigLoader, EveryEffectiveValueKnowsItsOrigin) {
  environment_["VISOR_HOME"] = directory_;
  write_config(R"({"max-restarts": 3})");
  environment_["VISOR_BACKOFF_MAX"] = "90s";
  auto loaded = load({{"cmd", flag("lavap", "cmd")}, {"profile", flag("vega", "profile")}});
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errors.front();
  EXPECT_EQ(loaded.effective.at("cmd").kind, OriginKind::flag);
  EXPECT_EQ(loaded.effective.at("backoff-max").kind, OriginKind::environment);
  EXPECT_EQ(loaded.effective.at("max-restarts").kind, OriginKind::config_file);
  EXPECT_EQ(loaded.effective.at("source").kind, OriginKind::profile);
  EXPECT_EQ(loaded.effective.at("source").value, "vega");
  EXPECT_EQ(loaded.effective.at("healthy-after").kind, OriginKind::default_value);
  EXPECT_EQ(loaded.effective.at("poll-interval").value, "1s");
  EXPECT_EQ(loaded.effective.count("lava-rest"), 0u);
}

TEST_F(ConfigLoader, ErrorsNameTheOptionAsItsFlag) {
  environment_["VISOR_STOP_TIMEOUT"] = "soon";
  auto loaded = load({{"cmd", flag("lavap", "cmd")}});
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_EQ(loaded.errors[0].rfind("--stop-timeout (from VISOR_STOP_TIMEOUT)", 0), 0u)
      << loaded.errors[0];
}

TEST_F(ConfigLoader, DefaultsMatchTheContract) {
  auto loaded = load({{"cmd", flag("lavap rpcprovider", "cmd")}});
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errors.front();
  const Options& o = loaded.options;
  EXPECT_EQ(o.home, directory_ + "/.visor");
  EXPECT_EQ(o.command, (std::vector<std::string>{"lavap", "rpcprovider"}));
  EXPECT_EQ(o.source, SourceKind::none);
  EXPECT_EQ(o.stop_signal, SIGTERM);
  EXPECT_EQ(o.stop_timeout, Duration(30000));
  EXPECT_EQ(o.restart, RestartPolicy::on_failure);
  EXPECT_EQ(o.backoff_initial, Duration(1000));
  EXPECT_EQ(o.backoff_max, Duration(60000));
  EXPECT_EQ(o.max_restarts, 10);
  EXPECT_EQ(o.restart_window, Duration(600000));
  EXPECT_EQ(o.healthy_after, Duration(10000));
  EXPECT_EQ(o.version_args, std::vector<std::string>{"version"});
  EXPECT_EQ(o.vega_admin_path, "/rpc");
  EXPECT_EQ(o.vega_admin_socket, "/tmp/vega.sock");
  EXPECT_EQ(o.poll_interval, Duration(1000));
  EXPECT_FALSE(o.allow_http);
  EXPECT_FALSE(o.insecure_skip_checksum);
}

TEST_F(ConfigLoader, FlagBeatsEnvironmentBeatsFileBeatsDefault) {
  environment_["VISOR_HOME"] = directory_;
  write_config(
      R"({"stop-timeout": "5s", "backoff-max": "2m", "max-restarts": 3, "cmd": "from-file"})");
  environment_["VISOR_STOP_TIMEOUT"] = "7s";
  environment_["VISOR_BACKOFF_MAX"] = "90s";
  auto loaded = load({{"stop-timeout", flag("9s", "stop-timeout")}});
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errors.front();
  EXPECT_EQ(loaded.options.stop_timeout, Duration(9000));  // flag
  EXPECT_EQ(loaded.options.backoff_max, Duration(90000));  // environment
  EXPECT_EQ(loaded.options.max_restarts, 3);               // file
  EXPECT_EQ(loaded.options.command, std::vector<std::string>{"from-file"});
  EXPECT_EQ(loaded.options.healthy_after, Duration(10000));            // default
  EXPECT_EQ(loaded.options.config_file, directory_ + "/config.json");  // the one read
}

TEST_F(ConfigLoader, ExplicitConfigFileAndBooleansAndLists) {
  const std::string path = write_config(
      R"({"cmd": "node", "allow-http": true, "upgrade-args": ["--snapshot.load-from-block-height", "{height}"]})");
  auto loaded = load({{"config", flag(path, "config")}});
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errors.front();
  EXPECT_TRUE(loaded.options.allow_http);
  EXPECT_EQ(loaded.options.upgrade_args,
            (std::vector<std::string>{"--snapshot.load-from-block-height", "{height}"}));
}

TEST_F(ConfigLoader, EveryErrorIsReportedAtOnceWithItsOrigin) {
  environment_["VISOR_HOME"] = directory_;
  write_config(R"({"stop-timeout": "soon", "surprise": 1, "restart": {"policy": "x"}})");
  environment_["VISOR_MAX_RESTARTS"] = "many";
  auto loaded = load({{"cmd", flag("a 'b", "cmd")}, {"log-level", flag("loud", "log-level")}});
  ASSERT_EQ(loaded.errors.size(), 6u);
  auto has = [&](const std::string& needle) {
    for (const auto& error : loaded.errors) {
      if (error.find(needle) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("unknown key 'surprise'"));
  EXPECT_TRUE(has("key 'restart' must be"));
  EXPECT_TRUE(has("stop-timeout (from " + directory_ + "/config.json): invalid duration 'soon'"));
  EXPECT_TRUE(has("max-restarts (from VISOR_MAX_RESTARTS)"));
  EXPECT_TRUE(has("--cmd: unterminated single quote"));
  EXPECT_TRUE(has("--log-level"));
}

TEST_F(ConfigLoader, NotJsonIsOneClearError) {
  environment_["VISOR_HOME"] = directory_;
  write_config("{not json");
  auto loaded = load({{"cmd", flag("x", "cmd")}});
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_NE(loaded.errors[0].find("not valid JSON"), std::string::npos);
}

TEST_F(ConfigLoader, CrossChecks) {
  auto loaded = load({{"source", flag("lava", "source")},
                      {"backoff-initial", flag("2m", "backoff-initial")},
                      {"download-url", flag("http://mirror/{version}", "download-url")}},
                     true);
  auto has = [&](const std::string& needle) {
    for (const auto& error : loaded.errors) {
      if (error.find(needle) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("--cmd is required"));
  EXPECT_TRUE(has("--source lava needs --node"));  // or --lava-rest: either endpoint serves
  EXPECT_TRUE(has("longer than --backoff-max"));
  EXPECT_TRUE(has("plain http refused without --allow-http"));
}

TEST_F(ConfigLoader, LavaPollsEvery15sByDefault) {
  auto loaded = load({{"cmd", flag("lavap", "cmd")},
                      {"source", flag("lava", "source")},
                      {"lava-rest", flag("https://rest", "lava-rest")}});
  ASSERT_TRUE(loaded.errors.empty());
  EXPECT_EQ(loaded.options.poll_interval, Duration(15000));
}

TEST_F(ConfigLoader, ProfilesPresetButYield) {
  auto loaded = load({{"cmd", flag("lavap rpcconsumer", "cmd")},
                      {"profile", flag("lava-consumer", "profile")},
                      {"lava-rest", flag("https://rest", "lava-rest")},
                      {"checksum-url", flag("https://mirror/sums.txt", "checksum-url")}});
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errors.front();
  EXPECT_EQ(loaded.options.source, SourceKind::lava);
  EXPECT_EQ(loaded.options.lava_role, LavaRole::consumer);
  EXPECT_NE(loaded.options.download_url.find("lavap-v{version}-{os}-{arch}"), std::string::npos);
  EXPECT_EQ(loaded.options.checksum_url, "https://mirror/sums.txt");

  auto vega = load({{"cmd", flag("vega start", "cmd")}, {"profile", flag("vega", "profile")}});
  ASSERT_TRUE(vega.errors.empty());
  EXPECT_EQ(vega.options.source, SourceKind::vega);
  EXPECT_EQ(vega.options.upgrade_args,
            (std::vector<std::string>{"--snapshot.load-from-block-height", "{height}"}));

  auto unknown = load({{"cmd", flag("x", "cmd")}, {"profile", flag("solana", "profile")}});
  ASSERT_EQ(unknown.errors.size(), 1u);
  EXPECT_NE(unknown.errors[0].find("unknown profile 'solana'"), std::string::npos);
}

TEST_F(ConfigLoader, SignalsByNameOrNumber) {
  auto loaded = load({{"cmd", flag("x", "cmd")}, {"stop-signal", flag("SIGINT", "stop-signal")}});
  EXPECT_EQ(loaded.options.stop_signal, SIGINT);
  loaded = load({{"cmd", flag("x", "cmd")}, {"stop-signal", flag("quit", "stop-signal")}});
  EXPECT_EQ(loaded.options.stop_signal, SIGQUIT);
  loaded = load({{"cmd", flag("x", "cmd")}, {"stop-signal", flag("BOGUS", "stop-signal")}});
  EXPECT_EQ(loaded.errors.size(), 1u);
}

TEST_F(ConfigLoader, EnvironmentNamesFollowTheRule) {
  EXPECT_EQ(environment_name("poll-interval"), "VISOR_POLL_INTERVAL");
  EXPECT_EQ(environment_name("insecure-skip-checksum"), "VISOR_INSECURE_SKIP_CHECKSUM");
}

}  // namespace
}  // namespace visor

namespace visor {
namespace {

TEST(ConfigSizes, AnOverflowingSizeIsAnError) {
  auto loaded = load_config(
      {{"cmd", {"x", "--cmd"}}, {"max-artifact-size", {"17179869184G", "--max-artifact-size"}}},
      [](const char*) -> const char* { return nullptr; });
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_NE(loaded.errors[0].find("too large"), std::string::npos) << loaded.errors[0];
  auto fine =
      load_config({{"cmd", {"x", "--cmd"}}, {"max-artifact-size", {"512M", "--max-artifact-size"}}},
                  [](const char*) -> const char* { return nullptr; });
  ASSERT_TRUE(fine.errors.empty());
  EXPECT_EQ(fine.options.max_artifact_size, 512ULL << 20);
}

TEST_F(ConfigLoader, NodeChainIdAndPlanDownloads) {
  auto loaded = load({{"cmd", flag("lavap rpcprovider", "cmd")},
                      {"source", flag("lava", "source")},
                      {"node", flag("https://lava-rpc.example:443", "node")},
                      {"chain-id", flag("lava-mainnet-1", "chain-id")},
                      {"plan-downloads", flag("off", "plan-downloads")}});
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errors.front();
  EXPECT_EQ(loaded.options.node, "https://lava-rpc.example:443");
  EXPECT_EQ(loaded.options.chain_id, "lava-mainnet-1");
  EXPECT_FALSE(loaded.options.plan_downloads);
  EXPECT_TRUE(loaded.options.lava_rest.empty());  // --node alone serves --source lava
  EXPECT_EQ(loaded.effective.at("node").origin, "--node");

  // lavap's and LavaVisor's spelling of the node's plain-HTTP RPC.
  environment_["VISOR_NODE"] = "tcp://127.0.0.1:26657";
  auto tcp = load({{"cmd", flag("lavap", "cmd")}, {"source", flag("lava", "source")}});
  ASSERT_TRUE(tcp.errors.empty()) << tcp.errors.front();
  EXPECT_EQ(tcp.options.node, "http://127.0.0.1:26657");

  environment_["VISOR_NODE"] = "ftp://127.0.0.1:26657";
  auto bad = load({{"cmd", flag("lavap", "cmd")}, {"chain-id", flag("x", "chain-id")}});
  ASSERT_EQ(bad.errors.size(), 2u);
  EXPECT_NE(bad.errors[0].find("VISOR_NODE"), std::string::npos) << bad.errors[0];
  EXPECT_NE(bad.errors[1].find("--chain-id needs --node"), std::string::npos) << bad.errors[1];
}

TEST_F(ConfigLoader, CosmovisorEnvironmentUnderProfileCosmos) {
  environment_["DAEMON_HOME"] = "/srv/gaia";
  environment_["DAEMON_NAME"] = "gaiad";
  environment_["DAEMON_ALLOW_DOWNLOAD_BINARIES"] = "false";
  environment_["DAEMON_SHUTDOWN_GRACE"] = "20s";
  environment_["DAEMON_POLL_INTERVAL"] = "300ms";
  environment_["DAEMON_RESTART_DELAY"] = "2s";
  environment_["COSMOVISOR_CUSTOM_PREUPGRADE"] = "backup.sh";
  environment_["UNSAFE_SKIP_BACKUP"] = "true";
  environment_["DAEMON_DATA_BACKUP_DIR"] = "/backup";
  // `cosmovisor run start --home /srv/gaia` becomes `visor wrap --profile cosmos -- start ...`.
  auto loaded = load({{"profile", flag("cosmos", "profile")},
                      {"cmd", RawValue{"start --home /srv/gaia", kTrailingCommandOrigin}}});
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errors.front();
  const Options& o = loaded.options;
  EXPECT_EQ(o.command, (std::vector<std::string>{"gaiad", "start", "--home", "/srv/gaia"}));
  EXPECT_EQ(o.upgrade_info, "/srv/gaia/data/upgrade-info.json");
  EXPECT_FALSE(o.plan_downloads);
  EXPECT_EQ(o.stop_timeout, Duration(20000));
  EXPECT_EQ(o.poll_interval, Duration(300));
  EXPECT_EQ(o.backoff_initial, Duration(2000));
  EXPECT_EQ(o.pre_upgrade, "/srv/gaia/cosmovisor/backup.sh");
  EXPECT_EQ(loaded.effective.at("stop-timeout").origin, "DAEMON_SHUTDOWN_GRACE");
  EXPECT_EQ(loaded.effective.at("stop-timeout").kind, OriginKind::daemon_environment);
  EXPECT_EQ(loaded.effective.at("upgrade-info").origin, "DAEMON_HOME");
  ASSERT_EQ(loaded.notes.size(), 1u);  // every variable used named once, in one line
  for (const char* used :
       {"DAEMON_HOME", "DAEMON_NAME", "DAEMON_SHUTDOWN_GRACE", "DAEMON_POLL_INTERVAL",
        "DAEMON_RESTART_DELAY", "DAEMON_ALLOW_DOWNLOAD_BINARIES", "COSMOVISOR_CUSTOM_PREUPGRADE"}) {
    EXPECT_NE(loaded.notes[0].find(used), std::string::npos) << used << ": " << loaded.notes[0];
  }
  ASSERT_EQ(loaded.warnings.size(), 1u);
  EXPECT_NE(loaded.warnings[0].find("UNSAFE_SKIP_BACKUP"), std::string::npos);
  EXPECT_NE(loaded.warnings[0].find("DAEMON_DATA_BACKUP_DIR"), std::string::npos);
}

// Cosmovisor reads its durations with Go's time.ParseDuration: what it took keeps working.
TEST_F(ConfigLoader, CosmovisorDurationsAreGoDurations) {
  environment_["DAEMON_NAME"] = "gaiad";
  environment_["DAEMON_HOME"] = "/srv/gaia";
  environment_["DAEMON_SHUTDOWN_GRACE"] = "1.5s";
  environment_["DAEMON_POLL_INTERVAL"] = "0.25s";
  environment_["DAEMON_RESTART_DELAY"] = "0m2.5s";
  environment_["DAEMON_LOG_BUFFER_SIZE"] = "700";
  auto loaded = load({{"profile", flag("cosmos", "profile")}});
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errors.front();
  EXPECT_EQ(loaded.options.stop_timeout, Duration(1500));
  EXPECT_EQ(loaded.options.poll_interval, Duration(250));
  EXPECT_EQ(loaded.options.backoff_initial, Duration(2500));
  EXPECT_EQ(loaded.effective.at("stop-timeout").origin, "DAEMON_SHUTDOWN_GRACE");
  ASSERT_EQ(loaded.warnings.size(), 1u);  // an old Cosmovisor variable is named, not ignored
  EXPECT_NE(loaded.warnings[0].find("DAEMON_LOG_BUFFER_SIZE"), std::string::npos);

  environment_["DAEMON_SHUTDOWN_GRACE"] = "soon";
  auto bad = load({{"profile", flag("cosmos", "profile")}});
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_NE(bad.errors[0].find("DAEMON_SHUTDOWN_GRACE"), std::string::npos) << bad.errors[0];

  // A value that is refused later, among the settings together, still names its variable.
  environment_["DAEMON_SHUTDOWN_GRACE"] = "1s";
  environment_["DAEMON_RESTART_DELAY"] = "0s";
  auto zero = load({{"profile", flag("cosmos", "profile")}});
  ASSERT_EQ(zero.errors.size(), 1u);
  EXPECT_NE(zero.errors[0].find("DAEMON_RESTART_DELAY"), std::string::npos) << zero.errors[0];
  environment_["DAEMON_RESTART_DELAY"] = "2s";

  // Cosmovisor wants an absolute DAEMON_HOME; a relative one would name another file.
  environment_["DAEMON_HOME"] = "gaia";
  auto relative = load({{"profile", flag("cosmos", "profile")}});
  ASSERT_FALSE(relative.errors.empty());
  EXPECT_NE(relative.errors[0].find("DAEMON_HOME"), std::string::npos) << relative.errors[0];
}

TEST_F(ConfigLoader, CosmovisorEnvironmentYieldsToFlagsVisorVariablesAndTheFile) {
  environment_["DAEMON_HOME"] = "/srv/gaia";
  environment_["DAEMON_NAME"] = "gaiad";
  environment_["DAEMON_SHUTDOWN_GRACE"] = "20s";
  environment_["DAEMON_POLL_INTERVAL"] = "300ms";
  environment_["VISOR_POLL_INTERVAL"] = "2s";
  const std::string file = write_config(R"({"upgrade-info": "/elsewhere/upgrade-info.json"})");
  auto loaded = load({{"profile", flag("cosmos", "profile")},
                      {"config", flag(file, "config")},
                      {"stop-timeout", flag("5s", "stop-timeout")}});
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errors.front();
  EXPECT_EQ(loaded.options.command, std::vector<std::string>{"gaiad"});
  EXPECT_EQ(loaded.options.stop_timeout, Duration(5000));
  EXPECT_EQ(loaded.options.poll_interval, Duration(2000));
  EXPECT_EQ(loaded.options.upgrade_info, "/elsewhere/upgrade-info.json");

  // Without profile cosmos, DAEMON_* mean nothing.
  auto other = load({{"cmd", flag("lavap", "cmd")}});
  ASSERT_TRUE(other.errors.empty()) << other.errors.front();
  EXPECT_EQ(other.options.stop_timeout, Duration(30000));
  EXPECT_TRUE(other.notes.empty());
}

}  // namespace
}  // namespace visor

namespace visor {
namespace {

TEST_F(ConfigLoader, AnInvalidReadyPatternIsAConfigurationErrorInRe2Terms) {
  environment_["VISOR_HOME"] = directory_;
  auto loaded =
      load({{"cmd", flag("lavap", "cmd")}, {"ready-pattern", flag("(a)\\1", "ready-pattern")}});
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_NE(loaded.errors[0].find("ready-pattern"), std::string::npos) << loaded.errors[0];
  EXPECT_NE(loaded.errors[0].find("RE2"), std::string::npos) << loaded.errors[0];
  auto fine = load(
      {{"cmd", flag("lavap", "cmd")}, {"ready-pattern", flag("Started\\s+\\d+", "ready-pattern")}});
  EXPECT_TRUE(fine.errors.empty());
  EXPECT_EQ(fine.options.ready_pattern, "Started\\s+\\d+");
}

// --- service sets (--child, "children", --group) ---

RawValue children_flag(std::vector<std::string> values) {
  return RawValue{values.front(), "--child", OriginKind::flag, std::move(values)};
}

bool has_error(const LoadedConfig& loaded, const std::string& part) {
  for (const auto& error : loaded.errors) {
    if (error.find(part) != std::string::npos) return true;
  }
  return false;
}

TEST_F(ConfigLoader, CmdIsASetOfOneNamedAfterItsBinary) {
  auto loaded = load({{"cmd", flag("/opt/bin/Lava_P rpcprovider eth.yml", "cmd")}});
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errors.front();
  ASSERT_EQ(loaded.options.children.size(), 1U);
  EXPECT_EQ(loaded.options.children[0].name, "lava-p");
  EXPECT_EQ(loaded.options.children[0].command,
            (std::vector<std::string>{"/opt/bin/Lava_P", "rpcprovider", "eth.yml"}));
  EXPECT_EQ(loaded.options.group, GroupPolicy::independent);
  EXPECT_EQ(child_name_for_binary("lavap"), "lavap");
  EXPECT_EQ(child_name_for_binary("_Vega.bin"), "vega-bin");
  EXPECT_EQ(child_name_for_binary("___"), "child");
}

TEST_F(ConfigLoader, ChildFlagsMakeASetInListOrder) {
  auto loaded = load({{"child", children_flag({"eth=lavap rpcprovider eth.yml --from k",
                                               "osmo=lavap rpcprovider 'osmo chain.yml'"})},
                      {"group", flag("together", "group")}});
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errors.front();
  const auto& children = loaded.options.children;
  ASSERT_EQ(children.size(), 2U);
  EXPECT_EQ(children[0].name, "eth");
  EXPECT_EQ(children[1].name, "osmo");
  EXPECT_EQ(children[1].command,
            (std::vector<std::string>{"lavap", "rpcprovider", "osmo chain.yml"}));
  EXPECT_EQ(loaded.options.group, GroupPolicy::together);
  EXPECT_EQ(loaded.options.command, children[0].command);  // the first child stays `command`
  EXPECT_EQ(binary_names(loaded.options), std::vector<std::string>{"lavap"});
}

TEST_F(ConfigLoader, ChildrenFromTheFileCarryTheirOwnThreeKeys) {
  const std::string password = directory_ + "/password";
  std::ofstream(password) << "secret\n";
  write_config(R"({"profile": "vega", "children": [
      {"name": "core", "cmd": "vega start --home /srv/vega", "ready-pattern": "core up",
       "stdin-file": ")" +
               password + R"("},
      {"name": "datanode", "cmd": "vega datanode start --home /srv/datanode"},
      {"name": "extra", "cmd": "vega tool", "upgrade-args": ["--own", "{version}"]}]})");
  environment_["VISOR_HOME"] = directory_;
  auto loaded = load({});
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errors.front();
  const Options& o = loaded.options;
  ASSERT_EQ(o.children.size(), 3U);
  EXPECT_EQ(o.group, GroupPolicy::together);  // the vega profile's default
  EXPECT_EQ(ready_pattern_for(o, 0), "core up");
  EXPECT_EQ(ready_pattern_for(o, 1), "");
  EXPECT_EQ(stdin_file_for(o, 0), password);
  EXPECT_EQ(stdin_file_for(o, 1), "");
  // The profile's snapshot flag goes to the core, not to the data node; own args win.
  EXPECT_EQ(upgrade_args_for(o, 0),
            (std::vector<std::string>{"--snapshot.load-from-block-height", "{height}"}));
  EXPECT_TRUE(is_vega_datanode(o.children[1]));
  EXPECT_TRUE(upgrade_args_for(o, 1).empty());
  EXPECT_EQ(upgrade_args_for(o, 2), (std::vector<std::string>{"--own", "{version}"}));
}

TEST_F(ConfigLoader, ChildFlagsReplaceTheFilesListAsAWhole) {
  write_config(R"({"children": [{"name": "a", "cmd": "x"}, {"name": "b", "cmd": "y"}]})");
  environment_["VISOR_HOME"] = directory_;
  auto loaded = load({{"child", children_flag({"c=z run"})}});
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errors.front();
  ASSERT_EQ(loaded.options.children.size(), 1U);
  EXPECT_EQ(loaded.options.children[0].name, "c");
  EXPECT_EQ(loaded.options.command, (std::vector<std::string>{"z", "run"}));
}

TEST_F(ConfigLoader, EverySetErrorIsReportedAtOnce) {
  write_config(R"({"children": [{"name": "ok", "cmd": "a"}, {"name": "x", "cmd": "b", "home": 1},
                                {"cmd": "c"}, 7]})");
  environment_["VISOR_HOME"] = directory_;
  auto from_file = load({});
  EXPECT_TRUE(has_error(from_file, "children[1]: unknown key 'home'")) << from_file.errors.size();
  EXPECT_TRUE(has_error(from_file, "children[2]: \"name\" is missing"));
  EXPECT_TRUE(has_error(from_file, "children[3] must be an object"));

  auto loaded = load({{"child", children_flag({"Core=vega start", "core=vega start", "core=x",
                                               "-dash=y", "noequals", "empty=", "q=a 'b"})},
                      {"group", flag("sometimes", "group")}});
  EXPECT_TRUE(has_error(loaded, "invalid child name 'Core'"));
  EXPECT_TRUE(has_error(loaded, "child name 'core' is used twice"));
  EXPECT_TRUE(has_error(loaded, "invalid child name '-dash'"));
  EXPECT_TRUE(has_error(loaded, "expected NAME=COMMAND"));
  EXPECT_TRUE(has_error(loaded, "'empty': the command line is empty"));
  EXPECT_TRUE(has_error(loaded, "'q': command: "));
  EXPECT_TRUE(has_error(loaded, "expected independent|together, got 'sometimes'"));
  EXPECT_GE(loaded.errors.size(), 7U);
}

TEST_F(ConfigLoader, ACommandWhoseFirstWordNamesNoBinaryIsAnError) {
  // The store keeps a binary under the last part of the first word: "/", "." and ".." name none.
  auto loaded = load({{"child", children_flag({"a=/usr/bin/ x", "b=.. x", "c=./. x", "d=lavap"})}});
  EXPECT_TRUE(has_error(loaded, "'a': the first word '/usr/bin/' names no binary"));
  EXPECT_TRUE(has_error(loaded, "'b': the first word '..' names no binary"));
  EXPECT_TRUE(has_error(loaded, "'c': the first word './.' names no binary"));
  EXPECT_EQ(loaded.errors.size(), 3U);
  for (const auto& child : loaded.options.children) {
    EXPECT_EQ(child.command.empty(), child.name != "d") << child.name;
  }
  auto single = load({{"cmd", flag("/", "cmd")}});
  EXPECT_TRUE(has_error(single, "--cmd: the first word '/' names no binary"));
}

TEST_F(ConfigLoader, AChildWhoseCommandCannotBeSplitHasNoCommandLeft) {
  auto loaded = load({{"child", children_flag({"a=lavap run", "b=lavap 'open", "c="})}});
  ASSERT_EQ(loaded.options.children.size(), 3U);
  EXPECT_FALSE(loaded.options.children[0].command.empty());
  EXPECT_TRUE(loaded.options.children[1].command.empty());
  EXPECT_TRUE(loaded.options.children[2].command.empty());
}

TEST_F(ConfigLoader, AChildsCommandInTheFileMayBeAListOfWords) {
  write_config(R"({"children": [{"name": "eth", "cmd": ["lavap", "rpcprovider", "my eth.yml"]},
                                {"name": "bad", "cmd": 5}]})");
  environment_["VISOR_HOME"] = directory_;
  auto loaded = load({});
  EXPECT_TRUE(has_error(loaded, "children[1]: key 'cmd' must be a string or a list of strings"));
  ASSERT_FALSE(loaded.options.children.empty());
  EXPECT_EQ(loaded.options.children[0].command,
            (std::vector<std::string>{"lavap", "rpcprovider", "my eth.yml"}));
}

TEST_F(ConfigLoader, AnInvalidChildNameIsQuotedAsBoundedEscapedText) {
  const std::string long_name(5000, 'x');
  auto loaded = load({{"child", children_flag({"a\x1b[31mb=lavap", long_name + "X=lavap"})}});
  ASSERT_EQ(loaded.errors.size(), 2U);
  for (const auto& error : loaded.errors) {
    EXPECT_EQ(error.find('\x1b'), std::string::npos) << error;
    EXPECT_LT(error.size(), 600U);
  }
  EXPECT_TRUE(has_error(loaded, "invalid child name 'a\\x1b[31mb'"));
}

// DAEMON_NAME is the binary of --cmd: a set names its binaries itself, so Cosmovisor's
// environment left in place does not turn a set into "--cmd with --child".
TEST_F(ConfigLoader, DaemonNameDoesNotBecomeACmdBesideASet) {
  environment_["DAEMON_HOME"] = "/srv/gaia";
  environment_["DAEMON_NAME"] = "gaiad";
  auto loaded = load({{"profile", flag("cosmos", "profile")},
                      {"child", children_flag({"node=gaiad start", "helper=gaiad helper"})}});
  EXPECT_TRUE(loaded.errors.empty()) << loaded.errors.front();
  ASSERT_EQ(loaded.options.children.size(), 2U);
  EXPECT_EQ(loaded.options.command, (std::vector<std::string>{"gaiad", "start"}));
  write_config(R"({"profile": "cosmos", "children": [{"name": "node", "cmd": "gaiad start"}]})");
  environment_["VISOR_HOME"] = directory_;
  auto from_file = load({});
  EXPECT_TRUE(from_file.errors.empty()) << from_file.errors.front();
}

// `visor config` shows every child of a set with where it came from.
TEST_F(ConfigLoader, TheEffectiveConfigurationListsTheChildren) {
  auto loaded = load({{"child", children_flag({"eth=lavap rpcprovider eth.yml", "osmo=lavap x"})}});
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errors.front();
  ASSERT_EQ(loaded.effective.count("child"), 1U);
  EXPECT_EQ(loaded.effective.at("child").list,
            (std::vector<std::string>{"eth=lavap rpcprovider eth.yml", "osmo=lavap x"}));
  EXPECT_EQ(loaded.effective.at("child").kind, OriginKind::flag);
  EXPECT_EQ(load({{"cmd", flag("lavap", "cmd")}}).effective.count("child"), 0U);
  const std::string path =
      write_config(R"({"children": [{"name": "core", "cmd": ["vega", "start"]}]})");
  environment_["VISOR_HOME"] = directory_;
  auto from_file = load({});
  ASSERT_EQ(from_file.effective.count("child"), 1U);
  EXPECT_EQ(from_file.effective.at("child").list, (std::vector<std::string>{"core=vega start"}));
  EXPECT_EQ(from_file.effective.at("child").kind, OriginKind::config_file);
  EXPECT_EQ(from_file.effective.at("child").origin, path);
}

// A child's stdin-file is a path like the set's: a leading `~` is the user's home.
TEST_F(ConfigLoader, AChildsStdinFileExpandsTheHomeLikeTheSets) {
  std::ofstream(directory_ + "/keyring-password") << "secret\n";
  environment_["HOME"] = directory_;
  write_config(R"({"stdin-file": "~/keyring-password", "children": [
                   {"name": "eth", "cmd": "lavap a", "stdin-file": "~/keyring-password"},
                   {"name": "osmo", "cmd": "lavap b", "stdin-file": "~/missing"}]})");
  environment_["VISOR_HOME"] = directory_;
  auto loaded = load({});
  ASSERT_EQ(loaded.errors.size(), 1U) << loaded.errors.front();
  EXPECT_TRUE(
      has_error(loaded, "'osmo': stdin-file: not a readable file: " + directory_ + "/missing"));
  ASSERT_EQ(loaded.options.children.size(), 2U);
  EXPECT_EQ(loaded.options.children[0].stdin_file, directory_ + "/keyring-password");
  EXPECT_EQ(loaded.options.stdin_file, directory_ + "/keyring-password");
}

TEST_F(ConfigLoader, CmdWithChildrenIsAnError) {
  auto loaded = load({{"cmd", flag("lavap", "cmd")}, {"child", children_flag({"a=lavap"})}});
  EXPECT_TRUE(has_error(loaded, "--cmd cannot be combined with --child"));
  write_config(R"({"cmd": "lavap", "children": [{"name": "a", "cmd": "lavap"}]})");
  environment_["VISOR_HOME"] = directory_;
  auto from_file = load({});
  EXPECT_TRUE(has_error(from_file, "--cmd cannot be combined with \"children\""));
}

TEST_F(ConfigLoader, ATemplateWithoutNameNeedsOneBinaryName) {
  const RawValue two = children_flag({"core=vega start", "helper=vegawallet service run"});
  auto loaded =
      load({{"child", two},
            {"download-url", flag("https://example.com/{version}/x.zip", "download-url")}});
  EXPECT_TRUE(has_error(loaded, "--download-url has no {name}")) << loaded.errors.size();
  auto named =
      load({{"child", two},
            {"download-url", flag("https://example.com/{version}/{name}", "download-url")}});
  EXPECT_TRUE(named.errors.empty()) << named.errors.front();
  auto one_name =
      load({{"child", children_flag({"core=vega start", "datanode=vega datanode start"})},
            {"download-url", flag("https://example.com/{version}/vega.zip", "download-url")}});
  EXPECT_TRUE(one_name.errors.empty()) << one_name.errors.front();
}

TEST_F(ConfigLoader, OneChildFromTheEnvironment) {
  environment_["VISOR_CHILD"] = "node=lavap rpcprovider";
  auto loaded = load({});
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errors.front();
  ASSERT_EQ(loaded.options.children.size(), 1U);
  EXPECT_EQ(loaded.options.children[0].name, "node");
}

}  // namespace
}  // namespace visor
