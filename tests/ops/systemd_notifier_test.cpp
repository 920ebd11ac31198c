#include "visor/ops/systemd_notifier.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

namespace visor {
namespace {

LiveStatus running_lavap() {
  LiveStatus status;
  status.state = LiveState::running;
  status.binary = "lavap";
  status.current_version = "5.2.1";
  status.child_up = true;
  status.child_pid = 10;
  return status;
}

TEST(StatusSummary, NamesTheStateBinaryAndVersion) {
  LiveStatus status = running_lavap();
  EXPECT_EQ(status_summary(status), "running lavap 5.2.1");
  status.current_version.clear();
  EXPECT_EQ(status_summary(status), "running lavap");
  status.state = LiveState::backoff;
  status.child_up = false;
  EXPECT_EQ(status_summary(status), "backoff: restarting lavap");
  status.state = LiveState::starting;
  EXPECT_EQ(status_summary(status), "starting lavap");
  status.state = LiveState::stopping;
  EXPECT_EQ(status_summary(status), "stopping lavap");
  status.state = LiveState::exited;
  EXPECT_EQ(status_summary(status), "exited");
}

TEST(StatusSummary, ShowsUpgradesAndDownloads) {
  LiveStatus status = running_lavap();
  status.upgrade_in_progress = true;
  status.upgrade_target = "5.3.0";
  status.download_percent = 42;
  EXPECT_EQ(status_summary(status), "running lavap 5.2.1; downloading 5.3.0 42%");
  status.download_percent = -1;
  status.state = LiveState::upgrading;
  EXPECT_EQ(status_summary(status), "upgrading lavap to 5.3.0");
  status.state = LiveState::probation;
  status.current_version = "5.3.0";
  EXPECT_EQ(status_summary(status), "running lavap 5.3.0 (on probation)");
  status.state = LiveState::rolling_back;
  EXPECT_EQ(status_summary(status), "rolling back lavap from 5.3.0");
  status.state = LiveState::held;
  status.upgrade_stage = LiveUpgradeStage::halted_waiting;
  EXPECT_EQ(status_summary(status), "held for the upgrade to 5.3.0 (halted_waiting)");
}

TEST(StatusSummary, AppendsTheLastErrorOnOneLine) {
  LiveStatus status = running_lavap();
  status.last_error = "rolled back from 5.3.0: exited 1 after 2s";
  EXPECT_EQ(status_summary(status),
            "running lavap 5.2.1; rolled back from 5.3.0: exited 1 after 2s");
  status.last_error = "line one\nline two\r\tend";
  EXPECT_EQ(status_summary(status), R"(running lavap 5.2.1; line one\nline two\r\tend)");
  status.last_error = std::string(1000, 'x');
  EXPECT_LE(status_summary(status).size(), 200u);
  EXPECT_GE(status_summary(status).size(), 160u);
  status.last_error = std::string(300, '\xe9');  // Latin-1: not UTF-8
  EXPECT_EQ(status_summary(status).find('\xe9'), std::string::npos);
}

class Notifier : public ::testing::Test {
 protected:
  SystemdNotifier make(std::optional<Duration> watchdog = std::nullopt) {
    return SystemdNotifier(
        io_, [this](const std::string& message) { sent_.push_back(message); }, watchdog);
  }
  boost::asio::io_context io_;
  std::vector<std::string> sent_;
};

TEST_F(Notifier, ReadyOnceWhenTheChildIsFirstUpAndStatusOnlyOnChange) {
  SystemdNotifier notifier = make();
  LiveStatus status;
  status.binary = "lavap";
  notifier.status_changed(status);
  ASSERT_EQ(sent_, (std::vector<std::string>{"STATUS=starting lavap"}));
  notifier.status_changed(status);
  EXPECT_EQ(sent_.size(), 1u);  // nothing changed, nothing sent

  status = running_lavap();
  notifier.status_changed(status);
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1], "READY=1\nSTATUS=running lavap 5.2.1");

  status.state = LiveState::backoff;
  status.child_up = false;
  notifier.status_changed(status);
  status = running_lavap();
  notifier.status_changed(status);
  ASSERT_EQ(sent_.size(), 4u);
  EXPECT_EQ(sent_[2], "STATUS=backoff: restarting lavap");
  EXPECT_EQ(sent_[3], "STATUS=running lavap 5.2.1");  // READY=1 only the first time
}

// visor started while the network is halted: it holds the node for the upgrade, which may
// wait long for its binary; systemd hears READY=1 then, not only once the new version runs.
TEST_F(Notifier, ReadyWhenVisorStartsHoldingTheNodeForAnUpgrade) {
  SystemdNotifier notifier = make();
  LiveStatus status;
  status.binary = "simd";
  status.state = LiveState::held;
  notifier.status_changed(status);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].rfind("READY=1\n", 0), 0u) << sent_[0];
}

TEST_F(Notifier, StoppingIsSentOnceWhetherByStateOrByStopping) {
  SystemdNotifier notifier = make();
  LiveStatus status = running_lavap();
  status.state = LiveState::stopping;
  status.child_up = false;
  notifier.status_changed(status);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0], "STATUS=stopping lavap\nSTOPPING=1");
  notifier.stopping();
  EXPECT_EQ(sent_.size(), 1u);

  SystemdNotifier other = make();
  other.stopping();
  other.stopping();
  EXPECT_EQ(sent_.back(), "STOPPING=1");
  EXPECT_EQ(sent_.size(), 2u);
}

TEST_F(Notifier, WatchdogPingsFromTheLoopUntilStopping) {
  SystemdNotifier notifier = make(Duration(20));
  notifier.start();
  // Polls in small slices until three pings arrived (generous deadline for a loaded machine);
  // three pings take at least three intervals.
  const auto started = std::chrono::steady_clock::now();
  const auto pings = [&] { return std::count(sent_.begin(), sent_.end(), "WATCHDOG=1"); };
  while (pings() < 3 && std::chrono::steady_clock::now() - started < std::chrono::seconds(10)) {
    io_.run_for(std::chrono::milliseconds(5));
  }
  ASSERT_GE(pings(), 3);
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(60));
  notifier.stopping();
  const std::size_t after_stop = sent_.size();
  io_.restart();
  io_.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(sent_.size(), after_stop);
  EXPECT_EQ(sent_.back(), "STOPPING=1");
}

// The interval read from the environment: half of WATCHDOG_USEC, at most a day (a larger one
// would overflow the timer), none for a watchdog meant for another process.
TEST_F(Notifier, TheIntervalIsHalfOfWatchdogUsecAndClamped) {
  ::setenv("WATCHDOG_USEC", "30000000", 1);
  ::unsetenv("WATCHDOG_PID");
  EXPECT_EQ(SystemdNotifier(io_).watchdog_interval(), Duration(15000));
  ::setenv("WATCHDOG_USEC", "18446744073709551614", 1);
  EXPECT_EQ(SystemdNotifier(io_).watchdog_interval(), Duration(24LL * 3600 * 1000));
  ::setenv("WATCHDOG_PID", "1", 1);
  EXPECT_EQ(SystemdNotifier(io_).watchdog_interval(), std::nullopt);
  ::unsetenv("WATCHDOG_PID");
  ::unsetenv("WATCHDOG_USEC");
  EXPECT_EQ(SystemdNotifier(io_).watchdog_interval(), std::nullopt);
}

TEST_F(Notifier, NoWatchdogWithoutAnInterval) {
  SystemdNotifier notifier = make();
  notifier.start();
  io_.run_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(sent_.empty());
  EXPECT_FALSE(notifier.watchdog_interval());
}

TEST_F(Notifier, ASetIsReadyOnceEveryChildIsUpAndItsStatusNamesTheChildren) {
  SystemdNotifier notifier = make();
  LiveStatus status = running_lavap();
  status.children = {{"eth", LiveState::running, 10, true, 0, 1, "5.2.1"},
                     {"osmo", LiveState::starting, 0, false, 0, 0, ""}};
  notifier.status_changed(status);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0], "STATUS=running lavap 5.2.1 [eth running, osmo starting]");
  status.children[1] = {"osmo", LiveState::running, 11, true, 0, 1, "5.2.1"};
  notifier.status_changed(status);
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1], "READY=1\nSTATUS=running lavap 5.2.1 [eth running, osmo running]");
}

}  // namespace
}  // namespace visor
