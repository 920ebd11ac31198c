#include "visor/common/worker.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "visor/common/result.h"

namespace visor {
namespace {

// An exception escaping a job is the job's failed result on the main context, and the worker
// goes on with the next job: visor never terminates for it.
TEST(Worker, AnExceptionEscapingAJobBecomesItsFailedResult) {
  boost::asio::io_context main;
  auto keep_running = boost::asio::make_work_guard(main);  // until the last result arrives
  Worker worker(main);
  std::string first_error;
  std::string second_error;
  int third_value = 0;
  worker.run([]() -> Result<int> { throw std::runtime_error("disk on fire"); },
             [&](Result<int> result) {
               ASSERT_FALSE(result);
               first_error = result.error();
             });
  worker.run(
      []() -> Status {
        // What fs::exists without an error_code throws for a name too long to look up.
        return std::filesystem::exists(std::string(5000, 'a')) ? Status() : Status();
      },
      [&](const Status& result) { second_error = result ? "no error" : result.error(); });
  worker.run([]() -> Result<int> { return 7; },
             [&](Result<int> result) {
               third_value = result.value();
               main.stop();
             });
  main.run();
  EXPECT_EQ(first_error, "unexpected error: disk on fire");
  EXPECT_NE(second_error.find("unexpected error: "), std::string::npos) << second_error;
  EXPECT_EQ(third_value, 7);
}

}  // namespace
}  // namespace visor
