// A background thread for blocking work (libcurl transfers, unpacking, fsync, version probes),
// so that the supervisor's io_context never waits on the network or the disk.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "visor/common/log.h"

namespace visor {

class Worker {
 public:
  /// Starts the thread. Results of jobs go back to `main` through post().
  explicit Worker(boost::asio::io_context& main)
      : main_(main),
        guard_(boost::asio::make_work_guard(jobs_)),
        thread_([this] { jobs_.run(); }) {}
  ~Worker() {
    guard_.reset();
    jobs_.stop();
    if (thread_.joinable()) thread_.join();
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// Runs `job` on the worker thread, then `done(result)` on the main io_context. The job's
  /// result type R has a `static R failure(std::string)` (Status, Result<T>, FetchOutcome): an
  /// exception escaping the job becomes such a failure and one log line, never the end of
  /// visor (the child it supervises would run on unsupervised).
  template <typename Job, typename Done>
  void run(Job job, Done done) {
    boost::asio::post(jobs_, [this, job = std::move(job), done = std::move(done)]() mutable {
      using Outcome = decltype(job());
      std::optional<Outcome> result;  // Outcome need not be default-constructible
      try {
        result.emplace(job());
      } catch (const std::exception& error) {
        result.emplace(escaped<Outcome>(error.what()));
      } catch (...) {
        result.emplace(escaped<Outcome>("an exception of unknown type"));
      }
      boost::asio::post(main_, [done = std::move(done), result = std::move(*result)]() mutable {
        done(std::move(result));
      });
    });
  }

  /// Runs `callback` on the main io_context (e.g. progress reports from a job).
  void to_main(std::function<void()> callback) { boost::asio::post(main_, std::move(callback)); }

 private:
  template <typename Outcome>
  static Outcome escaped(const std::string& what) {
    log::error("worker_exception", "a background job failed unexpectedly: " + what);
    return Outcome::failure("unexpected error: " + what);
  }

  boost::asio::io_context& main_;
  boost::asio::io_context jobs_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

}  // namespace visor
