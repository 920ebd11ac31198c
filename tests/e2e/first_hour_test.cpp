// What a new operator meets in the first hour, driven through the real binary: add-upgrade with
// any file name, check and wrap agreeing, a newer binary on PATH, the CLI's messages,
// create-service, and the installed program and its Debian package.
#include <gtest/gtest.h>

#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "e2e_util.h"

namespace visor::e2e {
namespace {

namespace fs = std::filesystem;

class FirstHour : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directories(dir_ / "bin"); }
  // PATH with the stand-in node binaries first; HOME inside the test folder.
  std::map<std::string, std::string> environment() const {
    const char* path = std::getenv("PATH");
    return {{"PATH", (dir_ / "bin") + ":" + (path ? path : "/usr/bin:/bin")},
            {"HOME", dir_.path()}};
  }
  bool running(const std::string& version) const {
    return argv_file_says_running(dir_ / "argv", version);
  }
  std::string child_flags() const { return " --argv-file " + (dir_ / "argv"); }
  std::string home() const { return dir_ / "home"; }
  // Runs visor with `arguments` to the end; its exit status and output.
  CommandResult visor(const std::vector<std::string>& arguments, const std::string& log,
                      std::map<std::string, std::string> extra = {}) const {
    std::vector<std::string> argv{visor_binary()};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    auto variables = environment();
    for (auto& [name, value] : extra) variables[name] = value;
    Process process(argv, dir_ / log, variables);
    const auto status = process.wait(20s);
    return CommandResult{status ? *status : -1, process.output()};
  }

  TempDir dir_;
};

// Issue item 1: the README's `visor add-upgrade 5.4.0 ./lavap-v5.4.0` must stage a binary the
// running visor can switch to, and a second try must say how to replace it.
TEST_F(FirstHour, AddUpgradeStoresAnyFileUnderTheManagedNameAndTheSwitchHappens) {
  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  Process wrap({visor_binary(), "wrap", "--home", home(), "--healthy-after", "1s", "--cmd",
                "lavap rpcprovider" + child_flags()},
               dir_ / "wrap.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("5.2.1"); }, 15s)) << wrap.output();

  write_stand_in(dir_ / "lavap-v5.4.0", "5.4.0");
  const auto added =
      visor({"add-upgrade", "5.4.0", dir_ / "lavap-v5.4.0", "--home", home()}, "add.log");
  ASSERT_EQ(added.status, 0) << added.output;
  EXPECT_EQ(sha256sum(home() + "/upgrades/5.4.0/lavap"), sha256sum(dir_ / "lavap-v5.4.0"));
  EXPECT_FALSE(fs::exists(home() + "/upgrades/5.4.0/lavap-v5.4.0"));
  ASSERT_TRUE(wait_until([&] { return running("5.4.0"); }, 15s)) << wrap.output();
  // A manual upgrade is not reported as a chain halt at some height.
  ASSERT_TRUE(wait_until(
      [&] { return wrap.output().find("manual upgrade to v5.4.0") != std::string::npos; }, 5s))
      << wrap.output();
  EXPECT_EQ(wrap.output().find("the chain halted"), std::string::npos) << wrap.output();
  // status: the previous version is under "previous", not under "staged".
  const auto status = visor({"status", "--home", home()}, "status.log");
  EXPECT_NE(status.output.find("current:  5.4.0\n"), std::string::npos) << status.output;
  EXPECT_NE(status.output.find("previous: 5.2.1\n"), std::string::npos) << status.output;
  EXPECT_NE(status.output.find("staged:   (none)\n"), std::string::npos) << status.output;

  // The current version is never replaced, not even with --force.
  write_stand_in(dir_ / "other-5.4.0", "5.4.0", "# rebuilt");
  const auto current =
      visor({"add-upgrade", "5.4.0", dir_ / "other-5.4.0", "--home", home(), "--force"}, "cur.log");
  EXPECT_EQ(current.status, 1) << current.output;
  EXPECT_NE(current.output.find("is the current version"), std::string::npos) << current.output;
  EXPECT_EQ(sha256sum(home() + "/upgrades/5.4.0/lavap"), sha256sum(dir_ / "lavap-v5.4.0"));
  wrap.signal(SIGTERM);
  EXPECT_EQ(wrap.wait(15s), 128 + SIGTERM);
}

TEST_F(FirstHour, AddUpgradeForceReplacesAStagedVersionAndARefusalSaysWhatToDo) {
  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  ASSERT_EQ(visor({"init", "--home", home(), "--import", dir_ / "bin/lavap"}, "init.log").status,
            0);
  write_stand_in(dir_ / "first", "5.4.0");
  ASSERT_EQ(
      visor({"add-upgrade", "5.4.0", dir_ / "first", "--home", home(), "--stage-only"}, "first.log")
          .status,
      0);
  // The store's current binary names the managed binary: "first" is stored as lavap.
  EXPECT_TRUE(fs::exists(home() + "/upgrades/5.4.0/lavap"));

  write_stand_in(dir_ / "second", "5.4.0", "# a rebuilt 5.4.0");
  const auto refused = visor(
      {"add-upgrade", "5.4.0", dir_ / "second", "--home", home(), "--stage-only"}, "again.log");
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.output.find("add --force to replace it"), std::string::npos) << refused.output;
  EXPECT_EQ(sha256sum(home() + "/upgrades/5.4.0/lavap"), sha256sum(dir_ / "first"));

  const auto forced =
      visor({"add-upgrade", "5.4.0", dir_ / "second", "--home", home(), "--stage-only", "--force"},
            "force.log");
  ASSERT_EQ(forced.status, 0) << forced.output;
  EXPECT_EQ(sha256sum(home() + "/upgrades/5.4.0/lavap"), sha256sum(dir_ / "second"));
  // Nothing of the swap is left behind.
  EXPECT_TRUE(fs::is_empty(home() + "/tmp"));

  // With --cmd (or config.json's cmd) naming another binary, that name is used.
  write_file(home() + "/config.json", R"({"cmd": "lavad start"})");
  write_stand_in(dir_ / "lavad-5.5.0", "5.5.0");
  ASSERT_EQ(visor({"add-upgrade", "5.5.0", dir_ / "lavad-5.5.0", "--home", home(), "--stage-only"},
                  "cmd.log")
                .status,
            0);
  EXPECT_TRUE(fs::exists(home() + "/upgrades/5.5.0/lavad"));
}

// Issue item 2: check and wrap run the same validation; on the same inputs wrap exits 2 exactly
// when check does, and check never passes what wrap refuses.
TEST_F(FirstHour, CheckAndWrapAgreeOnTheSameInputs) {
  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  fs::create_directories(dir_ / "mute");
  write_file(dir_ / "mute/mute", "#!/bin/sh\necho no version here\n", 0755);
  struct Case {
    std::string what;
    std::vector<std::string> arguments;
    int expected;  // check's and wrap's exit status (wrap: 2, or it starts)
  };
  const std::vector<Case> cases{
      {"no --cmd", {}, 2},
      {"a misspelt option", {"--cmd", "lavap", "--lava-rst", "http://x"}, 2},
      {"--cmd together with --", {"--cmd", "lavap", "--", "lavap", "run"}, 2},
      {"a source that needs a version the binary cannot tell",
       {"--source", "cosmos", "--upgrade-info", dir_ / "upgrade-info.json",
        "--version-args=--unknown", "--cmd", dir_ / "mute/mute"},
       2},
      {"a download URL with no checksum source",
       {"--profile", "vega", "--vega-admin-socket", dir_ / "vega.sock", "--cmd", "lavap"},
       2},
      {"a missing binary", {"--cmd", "no-such-node run"}, 2},
      {"a valid configuration", {"--cmd", "lavap rpcprovider" + child_flags()}, 0},
  };
  int index = 0;
  for (const auto& item : cases) {
    const std::string check_log = "check-" + std::to_string(index) + ".log";
    const std::string wrap_log = "wrap-" + std::to_string(index++) + ".log";
    std::vector<std::string> check_arguments{"check", "--home", home()};
    std::vector<std::string> wrap_arguments{"wrap", "--home", home()};
    std::vector<std::string> rest = item.arguments;
    // `--` must stay last.
    check_arguments.insert(check_arguments.end(), rest.begin(), rest.end());
    const auto checked = visor(check_arguments, check_log);
    EXPECT_EQ(checked.status, item.expected) << item.what << "\n" << checked.output;

    std::vector<std::string> argv{visor_binary()};
    argv.insert(argv.end(), wrap_arguments.begin(), wrap_arguments.end());
    argv.insert(argv.end(), rest.begin(), rest.end());
    Process wrap(argv, dir_ / wrap_log, environment());
    if (item.expected == 2) {
      EXPECT_EQ(wrap.wait(15s), 2) << item.what << "\n" << wrap.output();
      // The same errors, word for word.
      for (std::string line : read_lines(dir_ / check_log)) {
        if (const auto at = line.find("`visor check`"); at != std::string::npos)
          line.replace(at, 13, "`visor wrap`");
        if (line.rfind("visor: error: ", 0) == 0) {
          EXPECT_NE(wrap.output().find(line), std::string::npos)
              << item.what << ": wrap lacks: " << line << "\n"
              << wrap.output();
        }
      }
    } else {
      EXPECT_TRUE(wait_until([&] { return running("5.2.1"); }, 15s)) << item.what << "\n"
                                                                     << wrap.output();
      wrap.signal(SIGTERM);
      EXPECT_EQ(wrap.wait(15s), 128 + SIGTERM);
    }
  }
}

// check reports the binary wrap runs: the stored one, not the PATH one.
TEST_F(FirstHour, CheckReportsTheStoredBinaryAndANewerOneOnPath) {
  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  ASSERT_EQ(visor({"init", "--home", home(), "--import", dir_ / "bin/lavap"}, "init.log").status,
            0);
  write_stand_in(dir_ / "bin/lavap", "5.2.2");  // the operator installed a newer one
  const auto checked = visor({"check", "--home", home(), "--cmd", "lavap run"}, "check.log");
  EXPECT_EQ(checked.status, 0) << checked.output;
  EXPECT_NE(checked.output.find("binary: " + home() + "/current/lavap, version 5.2.1"),
            std::string::npos)
      << checked.output;
  EXPECT_NE(checked.output.find("PATH has 5.2.2"), std::string::npos) << checked.output;
  EXPECT_NE(checked.output.find("running stored 5.2.1; use `visor add-upgrade 5.2.2"),
            std::string::npos)
      << checked.output;

  // wrap says the same in one line at start, and runs the stored version.
  Process wrap({visor_binary(), "wrap", "--home", home(), "--cmd", "lavap run" + child_flags()},
               dir_ / "wrap.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("5.2.1"); }, 15s)) << wrap.output();
  EXPECT_EQ(count_occurrences(wrap.output(), "PATH has 5.2.2"), 1) << wrap.output();
  wrap.signal(SIGTERM);
  EXPECT_EQ(wrap.wait(15s), 128 + SIGTERM);
}

// Issue item 4: a --cmd path that does not exist is an error, unless the store has that binary.
TEST_F(FirstHour, AMissingCmdPathIsAnErrorUnlessTheStoreHasIt) {
  const auto empty = visor({"wrap", "--home", home(), "--cmd", dir_ / "gone/lavap run"}, "w1.log");
  EXPECT_EQ(empty.status, 2) << empty.output;
  EXPECT_NE(empty.output.find(dir_ / "gone/lavap"), std::string::npos) << empty.output;

  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  ASSERT_EQ(visor({"init", "--home", home(), "--import", dir_ / "bin/lavap"}, "init.log").status,
            0);
  // check runs the same resolution: the stored binary is fine, with the same warning.
  const auto checked =
      visor({"check", "--home", home(), "--cmd", (dir_ / "gone/lavap") + " run"}, "check.log");
  EXPECT_EQ(checked.status, 0) << checked.output;
  EXPECT_NE(checked.output.find("which does not exist; running the stored lavap 5.2.1"),
            std::string::npos)
      << checked.output;
  Process wrap({visor_binary(), "wrap", "--home", home(), "--cmd",
                (dir_ / "gone/lavap") + " run" + child_flags()},
               dir_ / "wrap.log", environment());
  ASSERT_TRUE(wait_until([&] { return running("5.2.1"); }, 15s)) << wrap.output();
  EXPECT_NE(wrap.output().find("which does not exist; running the stored lavap 5.2.1"),
            std::string::npos)
      << wrap.output();
  wrap.signal(SIGTERM);
  EXPECT_EQ(wrap.wait(15s), 128 + SIGTERM);
}

// Issue item 5: messages that name the mistake and the closest valid name.
TEST_F(FirstHour, MessagesNameTheClosestValidName) {
  const auto command = visor({"wrpa", "--cmd", "x"}, "sub.log");
  EXPECT_EQ(command.status, 2);
  EXPECT_NE(command.output.find("unknown command 'wrpa' (did you mean 'wrap'?)"), std::string::npos)
      << command.output;

  const auto flag = visor({"wrap", "--lava-rst", "http://x", "--cmd", "x"}, "flag.log");
  EXPECT_EQ(flag.status, 2);
  EXPECT_NE(flag.output.find("unknown option --lava-rst for `visor wrap` (did you mean "
                             "'--lava-rest'?)"),
            std::string::npos)
      << flag.output;

  fs::create_directories(home());
  write_file(home() + "/config.json", R"({"cmd": "lavap", "lava_rest": "http://x:1317"})");
  const auto key = visor({"check", "--home", home()}, "key.log");
  EXPECT_EQ(key.status, 2);
  EXPECT_NE(key.output.find("unknown key 'lava_rest' (did you mean 'lava-rest'?)"),
            std::string::npos)
      << key.output;
  fs::remove(home() + "/config.json");

  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  const auto variable = visor({"check", "--home", home(), "--cmd", "lavap"}, "env.log",
                              {{"VISOR_POLL_INTERVALL", "2s"}});
  EXPECT_EQ(variable.status, 0) << variable.output;
  EXPECT_EQ(count_occurrences(variable.output, "VISOR_POLL_INTERVALL"), 1) << variable.output;
  EXPECT_NE(variable.output.find("did you mean VISOR_POLL_INTERVAL, --poll-interval?"),
            std::string::npos)
      << variable.output;

  const auto both =
      visor({"wrap", "--home", home(), "--cmd", "lavap", "--", "lavap", "run"}, "both.log");
  EXPECT_EQ(both.status, 2);
  EXPECT_NE(both.output.find("--cmd and a command after --"), std::string::npos) << both.output;

  const auto http = visor({"check", "--home", home(), "--cmd", "lavap", "--download-url",
                           "http://mirror/{version}", "--insecure-skip-checksum"},
                          "http.log");
  EXPECT_EQ(http.status, 2);
  EXPECT_NE(http.output.find("without --allow-http"), std::string::npos) << http.output;
  EXPECT_EQ(http.output.find("allow_http"), std::string::npos) << http.output;

  // `~` in --home is the user's home (the shell does not expand it after `=`).
  const auto tilde = visor({"check", "--home=~/tilde-home", "--cmd", "lavap"}, "tilde.log");
  EXPECT_EQ(tilde.status, 0) << tilde.output;
  EXPECT_NE(tilde.output.find("home: " + (dir_ / "tilde-home")), std::string::npos) << tilde.output;
}

// A Lava REST URL that answers 404 is most often the RPC port: say so.
TEST_F(FirstHour, ALavaRest404SaysWhereTheRestApiIs) {
  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  write_file(dir_ / "params.json", "STATUS 404\nnot found");
  Server chain =
      start_server("lava_chain.py", {"--params", dir_ / "params.json"}, dir_ / "chain.out");
  const auto checked = visor({"check", "--home", home(), "--source", "lava", "--lava-rest",
                              chain.url(), "--cmd", "lavap rpcprovider"},
                             "check.log");
  EXPECT_EQ(checked.status, 1) << checked.output;
  EXPECT_NE(checked.output.find("port 1317"), std::string::npos) << checked.output;
  EXPECT_NE(checked.output.find("belongs in --node"), std::string::npos) << checked.output;
}

// A certificate the system does not trust: the error names --ca-bundle, the way out.
TEST_F(FirstHour, ATlsFailureNamesTheCaBundleOption) {
  write_stand_in(dir_ / "bin/lavap", "5.2.1");
  const auto certificate = run_command(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext "
      "subjectAltName=IP:127.0.0.1 -keyout '" +
      (dir_ / "key.pem") + "' -out '" + (dir_ / "cert.pem") + "'");
  ASSERT_EQ(certificate.status, 0) << certificate.output;
  fs::create_directories(dir_ / "www");
  Server server = start_server(
      "release_server.py",
      {"--dir", dir_ / "www", "--tls-cert", dir_ / "cert.pem", "--tls-key", dir_ / "key.pem"},
      dir_ / "server.out");
  const std::string url = "https://127.0.0.1:" + std::to_string(server.port);
  const auto checked = visor({"check", "--home", home(), "--source", "lava", "--lava-rest", url,
                              "--cmd", "lavap rpcprovider"},
                             "check.log");
  EXPECT_EQ(checked.status, 1) << checked.output;
  EXPECT_NE(checked.output.find("--ca-bundle"), std::string::npos) << checked.output;
}

// Issue item 3: `visor config` shows every value and where it came from.
TEST_F(FirstHour, ConfigShowsEveryValueWithItsOrigin) {
  fs::create_directories(home());
  write_file(home() + "/config.json", R"({"cmd": "lavap rpcprovider", "max-restarts": 4})");
  const auto shown =
      visor({"config", "--home", home(), "--profile", "lava-provider", "--stop-timeout", "1m"},
            "config.log", {{"VISOR_BACKOFF_MAX", "90s"}});
  ASSERT_EQ(shown.status, 2) << shown.output;  // lava needs --lava-rest: shown, and an error
  EXPECT_NE(shown.output.find("--source lava needs --lava-rest"), std::string::npos)
      << shown.output;
  auto line_of = [&](const std::string& option) {
    for (const auto& line : read_lines(dir_ / "config.log")) {
      if (line.rfind("--" + option + " ", 0) == 0) return line;
    }
    return std::string();
  };
  EXPECT_NE(line_of("stop-timeout").find("1m    # flag"), std::string::npos) << shown.output;
  EXPECT_NE(line_of("backoff-max").find("90s    # environment VISOR_BACKOFF_MAX"),
            std::string::npos)
      << shown.output;
  EXPECT_NE(line_of("max-restarts").find("4    # config file " + home() + "/config.json"),
            std::string::npos)
      << shown.output;
  EXPECT_NE(line_of("source").find("lava    # profile"), std::string::npos) << shown.output;
  EXPECT_NE(line_of("healthy-after").find("10s    # default"), std::string::npos) << shown.output;
  EXPECT_NE(line_of("lava-rest").find("(unset)"), std::string::npos) << shown.output;
}

// Issue item 6: create-service validates like wrap and derives the unit from the effective
// configuration.
TEST_F(FirstHour, CreateServiceValidatesAndUsesTheEffectiveConfiguration) {
  write_stand_in(dir_ / "bin/vega", "0.79.0");
  const auto typo = visor({"create-service", "--cmd", "vega start", "--home", home(),
                           "--visor-args", "--stop-timout 2m"},
                          "typo.log");
  EXPECT_EQ(typo.status, 2);
  EXPECT_NE(typo.output.find("--visor-args: unknown option --stop-timout (did you mean "
                             "'--stop-timeout'?)"),
            std::string::npos)
      << typo.output;
  const auto bad_value = visor({"create-service", "--cmd", "vega start", "--home", home(),
                                "--visor-args", "--restart sometimes"},
                               "value.log");
  EXPECT_EQ(bad_value.status, 2);
  EXPECT_NE(bad_value.output.find("--restart"), std::string::npos) << bad_value.output;

  fs::create_directories(home());
  write_file(home() + "/config.json", R"({"stop-timeout": "2m"})");
  const auto unit =
      visor({"create-service", "--cmd", "vega start --home /srv/vega --tendermint-home=/srv/tm",
             "--home", home(), "--visor-args", "--source none"},
            "unit.log");
  ASSERT_EQ(unit.status, 0) << unit.output;
  EXPECT_NE(unit.output.find("\nTimeoutStopSec=135s\n"), std::string::npos) << unit.output;
  EXPECT_NE(unit.output.find("\nReadWritePaths=" + home() + " /srv/vega /srv/tm\n"),
            std::string::npos)
      << unit.output;
  // Never the build tree: the installed visor.
  EXPECT_EQ(unit.output.find("ExecStart=" + visor_binary()), std::string::npos) << unit.output;
  EXPECT_TRUE(unit.output.find("ExecStart=/usr/local/bin/visor wrap") != std::string::npos ||
              unit.output.find("ExecStart=/usr/bin/visor wrap") != std::string::npos)
      << unit.output;

  // --user without --home: that user's home, or /var/lib/visor for a system user.
  const auto system_user =
      visor({"create-service", "--cmd", "vega start", "--user", "daemon"}, "user.log");
  ASSERT_EQ(system_user.status, 0) << system_user.output;
  EXPECT_NE(system_user.output.find("--home /var/lib/visor "), std::string::npos)
      << system_user.output;
  EXPECT_NE(system_user.output.find("\nUser=daemon\n"), std::string::npos);
  const auto nobody_here =
      visor({"create-service", "--cmd", "vega start", "--user", "no-such-user-xyz"}, "nouser.log");
  EXPECT_EQ(nobody_here.status, 2);
  EXPECT_NE(nobody_here.output.find("no such user"), std::string::npos) << nobody_here.output;
}

// Issue item 7: the installed program runs, and the Debian package holds it and the unit.
TEST_F(FirstHour, InstallAndDebianPackage) {
  const std::string build = fs::path(visor_binary()).parent_path().string();
  const auto installed =
      run_command("cmake --install '" + build + "' --strip --prefix '" + (dir_ / "prefix") + "'");
  ASSERT_EQ(installed.status, 0) << installed.output;
  const auto version = run_command("'" + (dir_ / "prefix/bin/visor") + "' version");
  EXPECT_EQ(version.status, 0);
  EXPECT_EQ(version.output.rfind("visor ", 0), 0u) << version.output;
  const std::string unit = read_file(dir_ / "prefix/lib/systemd/system/visor@.service");
  EXPECT_NE(unit.find("ExecStart=" + (dir_ / "prefix/bin/visor") + " wrap"), std::string::npos)
      << unit;
  EXPECT_TRUE(fs::exists(dir_ / "prefix/share/doc/visor/README.md"));
  EXPECT_TRUE(fs::exists(dir_ / "prefix/share/doc/visor/configuration.md"));
  // Stripped: no debug sections.
  const auto sections = run_command("readelf -S '" + (dir_ / "prefix/bin/visor") + "'");
  EXPECT_EQ(sections.output.find(".debug_info"), std::string::npos);

  const auto packed = run_command("cd '" + build + "' && cpack -G DEB -B '" + (dir_ / "deb") +
                                  "' >/dev/null && ls '" + (dir_ / "deb") + "'/visor_*.deb");
  ASSERT_EQ(packed.status, 0) << packed.output;
  const std::string deb = packed.output.substr(0, packed.output.find('\n'));
  const auto listing = run_command("dpkg-deb -c '" + deb + "'");
  ASSERT_EQ(listing.status, 0) << listing.output;
  EXPECT_NE(listing.output.find(" ./usr/bin/visor\n"), std::string::npos) << listing.output;
  EXPECT_NE(listing.output.find(" ./usr/lib/systemd/system/visor@.service\n"), std::string::npos)
      << listing.output;
  EXPECT_NE(listing.output.find(" ./usr/share/doc/visor/README.md\n"), std::string::npos);
  // Depends names the package of every library the binary needs (libcurl, libssl, libarchive).
  const auto depends = run_command("dpkg-deb -f '" + deb + "' Depends");
  ASSERT_EQ(depends.status, 0);
  for (const char* package : {"libcurl4", "libssl3", "libarchive13", "libc6"}) {
    EXPECT_NE(depends.output.find(package), std::string::npos) << depends.output;
  }
  EXPECT_EQ(depends.output.find("libfmt"), std::string::npos) << depends.output;
}

}  // namespace
}  // namespace visor::e2e
