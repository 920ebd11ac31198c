// The shipped deployment files: the Dockerfile builds like scripts/test.sh, the Kubernetes
// manifests parse and hold what the docs promise, and the example unit is what create-service
// writes and passes systemd-analyze verify. Docker and a cluster are not available to the tests,
// so this checks syntax and content.
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "e2e_util.h"

namespace visor::e2e {
namespace {

std::string source(const std::string& path) { return std::string(VISOR_SOURCE_DIR) + "/" + path; }

// Dockerfile instructions with continuation lines joined and comments dropped.
std::vector<std::string> dockerfile_instructions(const std::string& text) {
  std::vector<std::string> instructions;
  std::istringstream lines(text);
  std::string line, current;
  while (std::getline(lines, line)) {
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    if (!line.empty() && line.back() == '\\') {
      current += line.substr(0, line.size() - 1) + " ";
      continue;
    }
    instructions.push_back(current + line);
    current.clear();
  }
  return instructions;
}

// The build commands of scripts/test.sh's run_suite, with its build folder named `build`:
// `cmake -S . -B "$dir" -G Ninja "$@" >/dev/null` becomes `cmake -S . -B build -G Ninja`.
std::vector<std::string> test_sh_build_commands() {
  std::vector<std::string> commands;
  std::istringstream lines(read_file(source("scripts/test.sh")));
  std::string line;
  while (std::getline(lines, line)) {
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    std::string command = line.substr(start);
    if (command.rfind("scripts/install-deps.sh", 0) == 0) {
      commands.push_back("scripts/install-deps.sh");  // the groups only add test tools
    } else if (command.rfind("cmake ", 0) == 0) {
      command = std::regex_replace(command, std::regex(R"("\$dir")"), "build");
      command = std::regex_replace(command, std::regex(R"(\s*("\$@"|>/dev/null|-j "\$jobs"))"), "");
      commands.push_back(command);
    }
  }
  return commands;
}

TEST(OpsDeployFiles, TheDockerfileBuildsExactlyLikeTestSh) {
  const std::string text = read_file(source("config/container/Dockerfile"));
  ASSERT_FALSE(text.empty());
  const auto instructions = dockerfile_instructions(text);
  static const std::regex kInstruction(
      "(FROM|RUN|CMD|LABEL|EXPOSE|ENV|ADD|COPY|ENTRYPOINT|VOLUME|USER|WORKDIR|ARG|ONBUILD|"
      "STOPSIGNAL|"
      "HEALTHCHECK|SHELL) .+");
  std::vector<std::string> build_runs;
  int stage = 0;
  for (const auto& instruction : instructions) {
    EXPECT_TRUE(std::regex_match(instruction, kInstruction))
        << "not an instruction: " << instruction;
    if (instruction.rfind("FROM ", 0) == 0) ++stage;
    if (stage == 1 && instruction.rfind("RUN ", 0) == 0)
      build_runs.push_back(instruction.substr(4));
  }
  const auto expected = test_sh_build_commands();
  ASSERT_EQ(expected.size(), 3u)
      << "scripts/test.sh changed its build; update this test and the Dockerfile";
  EXPECT_EQ(expected[1], "cmake -S . -B build -G Ninja");
  EXPECT_EQ(expected[2], "cmake --build build");
  // The image builds only the program (no test targets), then packs it.
  ASSERT_EQ(build_runs.size(), 4u);
  EXPECT_EQ(build_runs[0], expected[0]);
  EXPECT_EQ(build_runs[1], expected[1] + " -DCMAKE_BUILD_TYPE=Release -DVISOR_TESTS=OFF");
  EXPECT_EQ(build_runs[2], expected[2] + " --target visor");
  EXPECT_NE(build_runs[3].find("cpack -G DEB"), std::string::npos);

  EXPECT_EQ(instructions.front(), "FROM debian:12 AS build");
  // `COPY . .` must not bring the host's build folders (their CMakeCache.txt names another path).
  const std::string ignored = read_file(source("config/container/Dockerfile.dockerignore"));
  for (const char* pattern : {"\nbuild\n", "\nbuild-*\n", "\n.git\n"}) {
    EXPECT_NE(("\n" + ignored).find(pattern), std::string::npos) << pattern;
  }
  const std::string runtime = text.substr(text.find("FROM debian:12-slim"));
  EXPECT_NE(runtime.find(" ca-certificates "), std::string::npos) << "HTTPS needs the CA bundle";
  // Runtime libraries come from the package's Depends (derived from the binary by
  // dpkg-shlibdeps; tests/e2e/packaging_test.cpp checks them), never from a hand-kept list.
  EXPECT_NE(
      runtime.find("apt-get install -y --no-install-recommends ca-certificates /tmp/visor.deb"),
      std::string::npos);
  EXPECT_EQ(runtime.find("libfmt"), std::string::npos);
  EXPECT_EQ(runtime.find("-dev"), std::string::npos) << "no development packages at run time";
  EXPECT_NE(text.find("\nENTRYPOINT [\"/usr/bin/visor\", \"wrap\"]\n"), std::string::npos);
  EXPECT_NE(text.find("\nVOLUME /var/lib/visor\n"), std::string::npos);
  EXPECT_NE(text.find("\nENV VISOR_HOME=/var/lib/visor\n"), std::string::npos);
  const auto user = text.rfind("\nUSER ");
  ASSERT_NE(user, std::string::npos);
  const std::string user_name = text.substr(user + 6, text.find('\n', user + 1) - user - 6);
  EXPECT_NE(user_name, "root");
  EXPECT_NE(user_name, "0");
}

TEST(OpsDeployFiles, TheKubernetesManifestsParseAndHoldTheProbes) {
  ASSERT_EQ(run_command("python3 -c 'import yaml'").status, 0)
      << "PyYAML is missing: install Debian's python3-yaml package";
  TempDir dir;
  const std::string checker = dir / "check.py";
  write_file(checker, R"PY(
import json, subprocess, sys, yaml
manifest, visor = sys.argv[1], sys.argv[2]
documents = [d for d in yaml.safe_load_all(open(manifest)) if d]
kinds = {d["kind"]: d for d in documents}
assert "StatefulSet" in kinds and "ConfigMap" in kinds, kinds.keys()
config = json.loads(kinds["ConfigMap"]["data"]["config.json"])
known = subprocess.run([visor, "wrap", "--help"], capture_output=True, text=True).stdout
for key in config:
    assert "--" + key + " " in known, "unknown config key " + key
stop_timeout = config.get("stop-timeout", "30s")
assert stop_timeout.endswith("s") and stop_timeout[:-1].isdigit(), stop_timeout
spec = kinds["StatefulSet"]["spec"]
pod = spec["template"]["spec"]
assert pod["terminationGracePeriodSeconds"] > int(stop_timeout[:-1]), "grace period must exceed --stop-timeout"
container = pod["containers"][0]
assert "command" not in container, "visor must stay PID 1: use the image's ENTRYPOINT"
args = container["args"]
assert args[args.index("--cmd") + 1].startswith("lavap rpcprovider"), args
health = {p["name"]: p["containerPort"] for p in container["ports"]}["health"]
assert config["health-listen"] == "0.0.0.0:%d" % health, config["health-listen"]
assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
    assert container[probe]["httpGet"]["port"] in ("health", health), probe
claims = [t["metadata"]["name"] for t in spec["volumeClaimTemplates"]]
mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
home = next(e["value"] for e in container["env"] if e["name"] == "VISOR_HOME")
assert any(mounts.get(claim) == home for claim in claims), "the home must be on a volumeClaimTemplate"
assert args[args.index("--config") + 1].startswith(mounts["config"] + "/")
print("ok")
)PY");
  const CommandResult result =
      run_command("python3 '" + checker + "' '" + source("config/kubernetes/statefulset.yaml") +
                  "' '" + visor_binary() + "'");
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_EQ(result.output, "ok\n");
}

TEST(OpsDeployFiles, TheKubernetesConfigIsValidForVisor) {
  TempDir dir;
  const std::string config = dir / "config.json";
  const CommandResult extract = run_command(
      "python3 -c 'import sys, yaml; print([d for d in yaml.safe_load_all(open(sys.argv[1])) if d "
      "and "
      "d[\"kind\"] == \"ConfigMap\"][0][\"data\"][\"config.json\"])' '" +
      source("config/kubernetes/statefulset.yaml") + "' > '" + config + "'");
  ASSERT_EQ(extract.status, 0) << extract.output;
  // Under a source the binary must tell its version (wrap and check refuse it otherwise).
  write_stand_in(dir / "lavap", "5.2.1");
  Process check({visor_binary(), "check", "--config", config, "--home", dir / "home",
                 "--request-timeout", "1s", "--cmd", dir / "lavap"},
                dir / "check.log");
  ASSERT_TRUE(check.wait(14s).has_value());
  EXPECT_EQ(check.output().find("configuration error"), std::string::npos) << check.output();
}

TEST(OpsDeployFiles, TheExampleUnitIsWhatCreateServiceWritesAndVerifies) {
  ASSERT_EQ(::access("/usr/bin/systemd-analyze", X_OK), 0)
      << "systemd-analyze is missing: install Debian's systemd package (scripts/install-deps.sh "
         "--ops)";
  TempDir dir;
  const std::string shipped = read_file(source("config/systemd/lavap.service"));
  ASSERT_FALSE(shipped.empty());
  // create-service validates like wrap, which needs the node's binary: a stand-in on PATH.
  std::filesystem::create_directories(dir / "bin");
  write_stand_in(dir / "bin/lavap", "5.2.1");
  Process create(
      {visor_binary(), "create-service", "--visor-path", "/usr/local/bin/visor", "--cmd",
       "lavap rpcprovider /etc/lavap/rpcprovider.yml --from provider1 --geolocation 1 --chain-id "
       "lava-mainnet-1 --keyring-backend test --home /var/lib/lava",
       "--name", "lavap", "--user", "lava", "--home", "/var/lib/visor", "--output",
       dir / "lavap.service", "--visor-args",
       "--source lava --lava-rest http://127.0.0.1:1317 --download-url "
       "https://github.com/lavanet/lava/releases/download/v{version}/lavap-v{version}-{os}-{arch} "
       "--checksum-url https://github.com/lavanet/lava/releases/download/v{version}/sha256sum.txt "
       "--health-listen 127.0.0.1:9187"},
      dir / "create.log", {{"PATH", dir / "bin:" + std::string(std::getenv("PATH"))}});
  ASSERT_EQ(create.wait(10s), 0) << create.output();
  const std::string generated = read_file(dir / "lavap.service");
  const std::string exec = "ExecStart=" + visor_binary() + " ";
  EXPECT_EQ(shipped, generated) << "regenerate config/systemd/lavap.service with create-service";

  // Verify the shipped unit with ExecStart pointing at this build's visor (which exists here),
  // and without User=lava, which this machine's user database need not have.
  std::string verifiable = shipped;
  verifiable.replace(verifiable.find("ExecStart=/usr/local/bin/visor "),
                     std::string("ExecStart=/usr/local/bin/visor ").size(), exec);
  const auto user = verifiable.find("\nUser=lava\n");
  ASSERT_NE(user, std::string::npos);
  verifiable.erase(user, std::string("\nUser=lava").size());
  write_file(dir / "lavap.service", verifiable);
  const CommandResult verify =
      run_command("/usr/bin/systemd-analyze verify '" + (dir / "lavap.service") + "'");
  EXPECT_EQ(verify.status, 0) << verify.output;
  EXPECT_EQ(verify.output.find("lavap.service"), std::string::npos) << verify.output;
}

TEST(OpsDeployFiles, TheAlertExamplesInTheDocsPassPromtool) {
  ASSERT_EQ(::access("/usr/bin/promtool", X_OK), 0)
      << "promtool is missing: install Debian's prometheus package (scripts/install-deps.sh --ops)";
  const std::string docs = read_file(source("docs/operations.md"));
  const auto alerts = docs.find("## Alerts");
  ASSERT_NE(alerts, std::string::npos);
  const auto start = docs.find("```yaml\n", alerts);
  ASSERT_NE(start, std::string::npos);
  const auto end = docs.find("```", start + 8);
  ASSERT_NE(end, std::string::npos);
  TempDir dir;
  write_file(dir / "rules.yml", docs.substr(start + 8, end - start - 8));
  const CommandResult check =
      run_command("/usr/bin/promtool check rules '" + (dir / "rules.yml") + "'");
  EXPECT_EQ(check.status, 0) << check.output;
  EXPECT_NE(check.output.find("SUCCESS: 7 rules found"), std::string::npos) << check.output;
}

}  // namespace
}  // namespace visor::e2e
