// The set policy driving real processes: a small synchronous driver (what the Supervisor will
// do on its io_context) spawns the real test child for each `spawn`, sends real signals, and
// reports real exits and deadlines back to the ServiceSet.
#include <signal.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "visor/process/process_table.h"
#include "visor/process/service_set.h"

namespace visor {
namespace {

namespace fs = std::filesystem;

class RealSetDriver {
 public:
  RealSetDriver(SetPolicy policy, std::vector<std::vector<std::string>> arguments)
      : set_(std::move(policy), clock_, [] { return 0.5; }),
        arguments_(std::move(arguments)),
        pids_(arguments_.size(), 0) {}
  ~RealSetDriver() {
    for (const pid_t pid : pids_) {
      if (pid > 0) {
        ::kill(-pid, SIGKILL);
        ProcessTable::instance().wait(pid, Duration(5000));
      }
    }
  }

  void handle(const SetEvent& event) {
    std::vector<SetEvent> queue{event};
    while (!queue.empty()) {
      const SetEvent next = queue.front();
      queue.erase(queue.begin());
      for (const auto& action : set_.handle(next)) carry_out(action, queue);
    }
  }

  // Reports exits and deadlines until `done` holds or `timeout` passes.
  bool run_until(const std::function<bool()>& done, Duration timeout) {
    const auto give_up = SteadyClock::now() + timeout;
    while (!done()) {
      if (SteadyClock::now() > give_up) return false;
      for (std::size_t child = 0; child < pids_.size(); ++child) {
        if (pids_[child] <= 0) continue;
        if (auto status = ProcessTable::instance().wait(pids_[child], Duration(5))) {
          pids_[child] = 0;
          log_.push_back("exited " + std::to_string(child));
          handle({SetEvent::Kind::child_exited, child, *status, 0});
        }
      }
      if (const auto deadline = set_.deadline(); deadline && clock_.now() >= *deadline) {
        handle({SetEvent::Kind::deadline, 0, {}, 0});
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }

  const ServiceSet& set() const { return set_; }
  const std::vector<std::string>& log() const { return log_; }
  std::optional<int> exit_code() const { return exit_code_; }

 private:
  void carry_out(const SetAction& action, std::vector<SetEvent>& queue) {
    const std::string child = std::to_string(action.child);
    switch (action.kind) {
      case SetAction::Kind::spawn: {
        SpawnOptions spawn;
        spawn.path = VISOR_TEST_CHILD;
        spawn.argv = {VISOR_TEST_CHILD};
        spawn.argv.insert(spawn.argv.end(), arguments_[action.child].begin(),
                          arguments_[action.child].end());
        auto pid = ProcessTable::instance().spawn(spawn);
        if (pid) {
          pids_[action.child] = pid.value();
          log_.push_back("spawn " + child);
          queue.push_back({SetEvent::Kind::spawned, action.child, {}, 0});
        } else {
          queue.push_back({SetEvent::Kind::spawn_failed, action.child, ExitStatus{127 << 8}, 0});
        }
        break;
      }
      case SetAction::Kind::signal_child:
        log_.push_back("signal " + child);
        ::kill(pids_[action.child], action.value);
        break;
      case SetAction::Kind::kill_group:
        log_.push_back("kill " + child);
        ::kill(-pids_[action.child], SIGKILL);
        break;
      case SetAction::Kind::exit:
        exit_code_ = action.value;
        break;
      case SetAction::Kind::all_started:
        log_.push_back("all started");
        break;
      case SetAction::Kind::switch_to_upgrade:
      case SetAction::Kind::roll_back:
      case SetAction::Kind::commit_upgrade:
        log_.push_back(action.kind == SetAction::Kind::roll_back ? "roll back" : "upgrade step");
        break;
    }
  }

  RealClock clock_;
  ServiceSet set_;
  std::vector<std::vector<std::string>> arguments_;
  std::vector<pid_t> pids_;
  std::vector<std::string> log_;
  std::optional<int> exit_code_;
};

class ServiceSetWithRealChildren : public ::testing::Test {
 protected:
  ServiceSetWithRealChildren() {
    char pattern[] = "/tmp/visor-set-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    policy_.restart.stop_timeout = Duration(300);
    policy_.restart.backoff_initial = Duration(50);
    policy_.restart.backoff_max = Duration(100);
    policy_.restart.healthy_after = Duration(10000);
    policy_.children = {{"a", false}, {"b", false}, {"c", false}};
  }
  ~ServiceSetWithRealChildren() override { fs::remove_all(dir_); }

  std::string file(const std::string& name) const { return dir_ + "/" + name; }
  static std::vector<std::string> lines(const std::string& path) {
    std::vector<std::string> result;
    std::ifstream input(path);
    for (std::string line; std::getline(input, line);) result.push_back(line);
    return result;
  }
  // Arguments of child `name`: its own start, pid and signal logs, plus `extra`.
  std::vector<std::string> child(const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> arguments{"--start-log",  file(name + ".start"),
                                       "--signal-log", file(name + ".signals"),
                                       "--pid-file",   file(name + ".pid")};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    return arguments;
  }
  bool started(const std::string& name) const { return !lines(file(name + ".pid")).empty(); }

  std::string dir_;
  SetPolicy policy_;
};

TEST_F(ServiceSetWithRealChildren, StartInOrderStopInReverseOneAtATimeKillingAStubbornOne) {
  RealSetDriver driver(policy_, {child("a"), child("b", {"--ignore-term"}), child("c")});
  driver.handle({SetEvent::Kind::start, 0, {}, 0});
  ASSERT_TRUE(driver.run_until([&] { return started("a") && started("b") && started("c"); },
                               Duration(10000)));
  // Each child's exec succeeded (ProcessTable::spawn waits for it) before the next was forked;
  // the order is the driver's log below.

  driver.handle({SetEvent::Kind::stop_requested, 0, {}, SIGTERM});
  ASSERT_TRUE(driver.run_until([&] { return driver.exit_code().has_value(); }, Duration(10000)));
  EXPECT_EQ(driver.log(), (std::vector<std::string>{"spawn 0", "spawn 1", "spawn 2", "all started",
                                                    "signal 2", "exited 2", "signal 1", "kill 1",
                                                    "exited 1", "signal 0", "exited 0"}));
  EXPECT_EQ(lines(file("a.signals")), std::vector<std::string>{"TERM"});
  EXPECT_TRUE(lines(file("b.signals")).empty());  // --ignore-term: TERM ignored, then SIGKILL
  EXPECT_EQ(lines(file("c.signals")), std::vector<std::string>{"TERM"});
  EXPECT_EQ(driver.exit_code(), 128 + SIGTERM);  // the first child's status
}

TEST_F(ServiceSetWithRealChildren, TogetherACrashRestartsTheWholeSetUntilTheBudgetIsSpent) {
  policy_.group = GroupPolicy::together;
  policy_.restart.max_restarts = 1;
  RealSetDriver driver(policy_,
                       {child("a"), child("b", {"--exit", "3", "--after", "200"}), child("c")});
  driver.handle({SetEvent::Kind::start, 0, {}, 0});
  ASSERT_TRUE(driver.run_until([&] { return driver.exit_code().has_value(); }, Duration(15000)));
  EXPECT_EQ(driver.exit_code(), 1);  // gave up: the second crash is beyond --max-restarts 1
  for (const char* name : {"a", "b", "c"}) {
    EXPECT_EQ(lines(file(std::string(name) + ".start")).size(), 2U) << name;  // started twice
  }
  EXPECT_EQ(lines(file("a.signals")), (std::vector<std::string>{"TERM", "TERM"}));
  EXPECT_TRUE(lines(file("b.signals")).empty());  // it crashed on its own both times
}

TEST_F(ServiceSetWithRealChildren, IndependentACrashRestartsOnlyThatChild) {
  RealSetDriver driver(policy_,
                       {child("a"), child("b", {"--exit", "3", "--after", "100"}), child("c")});
  driver.handle({SetEvent::Kind::start, 0, {}, 0});
  ASSERT_TRUE(
      driver.run_until([&] { return lines(file("b.start")).size() >= 3; }, Duration(10000)));
  EXPECT_EQ(lines(file("a.start")).size(), 1U);
  EXPECT_EQ(lines(file("c.start")).size(), 1U);
  EXPECT_TRUE(lines(file("a.signals")).empty());
  EXPECT_GE(driver.set().restarts(1), 2);
  EXPECT_EQ(driver.set().restarts(0), 0);
}

}  // namespace
}  // namespace visor
