// What the service-set end-to-end tests share: a test directory with stand-in binaries on PATH,
// and the files through which each child (the test child, named by --label) reports its argv,
// its pids, the signals it got and when it started, was told to stop and exited.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "e2e_util.h"

namespace visor::e2e {

/// One line of the shared --event-log: "<child> start|term|exit <monotonic ms>".
struct ChildEvent {
  std::string child;
  std::string what;
  long long at_ms = 0;
};

class ServiceSetFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_ / "bin");
    std::filesystem::create_directories(dir_ / "releases");
  }

  std::string home() const { return dir_ / "home"; }
  std::string log() const { return dir_ / "visor.log"; }
  /// The test's environment with dir/bin first on PATH (where the stand-in binaries are).
  std::map<std::string, std::string> environment() const {
    const char* path = std::getenv("PATH");
    return {{"PATH", (dir_ / "bin") + ":" + (path ? path : "/usr/bin:/bin")}};
  }

  /// Test-child flags that make child `name` report what happens to it.
  std::string follow(const std::string& name) const {
    return " --label " + name + " --argv-file " + argv_file(name) + " --pid-file " +
           (dir_ / (name + ".pids")) + " --signal-log " + (dir_ / (name + ".signals")) +
           " --event-log " + (dir_ / "events");
  }
  std::string argv_file(const std::string& name) const { return dir_ / (name + ".argv"); }
  std::vector<std::string> argv_of(const std::string& name) const {
    return read_lines(argv_file(name));
  }
  /// Every pid child `name` has had, oldest first.
  std::vector<pid_t> pids(const std::string& name) const {
    std::vector<pid_t> result;
    for (const auto& line : read_lines(dir_ / (name + ".pids"))) result.push_back(std::stoi(line));
    return result;
  }
  std::vector<std::string> signals(const std::string& name) const {
    return read_lines(dir_ / (name + ".signals"));
  }
  /// True when child `name` was last started as `version` (the stand-in's --print).
  bool running(const std::string& name, const std::string& version) const {
    return argv_file_says_running(argv_file(name), version);
  }
  std::vector<ChildEvent> events() const {
    std::vector<ChildEvent> result;
    for (const auto& line : read_lines(dir_ / "events")) {
      std::istringstream words(line);
      ChildEvent event;
      if (words >> event.child >> event.what >> event.at_ms) result.push_back(event);
    }
    return result;
  }
  /// The events of kind `what` ("start", "term", "exit") in the order they were written.
  std::vector<std::string> children_with(const std::string& what) const {
    std::vector<std::string> result;
    for (const auto& event : events()) {
      if (event.what == what) result.push_back(event.child);
    }
    return result;
  }

  /// True while `pid` exists and is not a zombie.
  static bool alive(pid_t pid) {
    const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    const auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
  }
  /// True when child `name` has been started `starts` times and its last process is alive.
  bool started_and_alive(const std::string& name, std::size_t starts) const {
    const auto all = pids(name);
    return all.size() == starts && alive(all.back()) && std::filesystem::exists(argv_file(name));
  }

  std::string current_target() const {
    std::error_code error;
    return std::filesystem::read_symlink(home() + "/current", error).string();
  }
  nlohmann::json state() const {
    return nlohmann::json::parse(read_file(home() + "/state.json"), nullptr, false);
  }
  /// `visor status --json` of the home; a discarded value when it is not JSON.
  nlohmann::json status_json() const {
    return nlohmann::json::parse(
        run_command(visor_binary() + " status --json --home '" + home() + "'", false).output,
        nullptr, false);
  }

  /// The word after `flag` in `argv`; empty when `flag` is absent or last.
  static std::string value_after(const std::vector<std::string>& argv, const std::string& flag) {
    const auto at = std::find(argv.begin(), argv.end(), flag);
    return at == argv.end() || at + 1 == argv.end() ? "" : *(at + 1);
  }
  static bool contains(const std::vector<std::string>& words, const std::string& word) {
    return std::find(words.begin(), words.end(), word) != words.end();
  }

  TempDir dir_;
};

}  // namespace visor::e2e
