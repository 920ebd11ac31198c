// The process table with real processes: wait() gets a helper command's status whether the
// reaper runs on another thread or (the event loop running a helper command) on this one.
#include "visor/process/process_table.h"

#include <gtest/gtest.h>

#include <chrono>

#include "visor/process/captured_run.h"

namespace visor {
namespace {

// While the reaper is active, the thread that would reap (the event loop) runs a short helper
// and waits for it: its status comes at once, not after the timeout.
TEST(ProcessTable, AWaitOnTheReapersOwnThreadGetsTheStatusPromptly) {
  ProcessTable& table = ProcessTable::instance();
  table.set_reaper_active(true);
  const auto started = SteadyClock::now();
  auto run = run_captured({"/bin/sh", "-c", "echo '{\"ok\":1}'; exit 3"}, Duration(10000));
  const auto took = SteadyClock::now() - started;
  table.set_reaper_active(false);
  ASSERT_TRUE(run.ok()) << run.error();
  ASSERT_TRUE(run->status.has_value());
  EXPECT_TRUE(run->status->exited());
  EXPECT_EQ(run->status->code(), 3);
  EXPECT_EQ(run->output, "{\"ok\":1}\n");
  EXPECT_LT(took, std::chrono::seconds(5));
}

}  // namespace
}  // namespace visor
