#include "visor/sources/cosmos_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/error.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "visor/common/files.h"
#include "visor/common/log.h"
#include "visor/common/result.h"
#include "visor/config/duration.h"

namespace visor {
namespace {

constexpr std::size_t kUpgradeInfoLimit = std::size_t{1} << 20;

// Reads upgrade-info.json on the worker (non-blocking open, regular files only, size-capped:
// read_small_file). Missing -> absent; anything else that fails -> failed.
FetchOutcome read_upgrade_info(const std::string& path, std::size_t limit) {
  FetchOutcome outcome;
  bool missing = false;
  auto text = read_small_file(path, limit, &missing);
  if (text) {
    outcome.kind = FetchOutcome::Kind::ok;
    outcome.body = std::move(text).value();
  } else {
    outcome.kind = missing ? FetchOutcome::Kind::absent : FetchOutcome::Kind::failed;
    outcome.error = missing ? path + ": does not exist" : text.error();
  }
  return outcome;
}

}  // namespace

CosmosWatchSettings CosmosWatchSettings::from(const Options& options) {
  CosmosWatchSettings settings;
  settings.fallback_poll = std::max(Duration(options.poll_interval * 10), Duration(5000));
  settings.use_inotify = true;
  return settings;
}

CosmosSource::CosmosSource(boost::asio::io_context& io, Worker& worker, const Options& options)
    : CosmosSource(io, worker, options, CosmosWatchSettings::from(options)) {}

CosmosSource::CosmosSource(boost::asio::io_context& io, Worker& worker, const Options& options,
                           CosmosWatchSettings settings)
    : path_(options.upgrade_info),
      settings_(settings),
      loop_(io, worker, settings.fallback_poll),
      events_(io) {
  const std::filesystem::path file(path_);
  directory_ = file.has_parent_path() ? file.parent_path().string() : ".";
  file_name_ = file.filename().string();
}

CosmosSource::~CosmosSource() { stop(); }

void CosmosSource::start(DecisionCallback on_decision, ErrorCallback on_error,
                         PollCallback on_poll) {
  if (running_) return;
  on_decision_ = std::move(on_decision);
  on_error_ = std::move(on_error);
  on_poll_ = std::move(on_poll);
  running_ = true;
  alive_ = std::make_shared<char>(0);
  arm_watch();
  loop_.start(
      [this]() -> PollLoop::Fetch {
        if (!events_.is_open()) arm_watch();  // re-arm a lost watch on every fallback poll
        return [path = path_]() { return read_upgrade_info(path, kUpgradeInfoLimit); };
      },
      [this](const FetchOutcome& outcome) { handle(outcome); });
}

void CosmosSource::set_current_version(const std::string& version) { current_version_ = version; }

void CosmosSource::stop() {
  running_ = false;
  alive_.reset();
  loop_.stop();
  drop_watch();
}

void CosmosSource::redeliver() {
  if (!running_ || !last_ || !on_decision_) return;
  if (done_.count(PlanKey(last_->plan, last_->height.value_or(0))) != 0) return;
  on_decision_(*last_);
}

void CosmosSource::mark_done(const std::string& plan, std::uint64_t height) {
  done_.insert(PlanKey(plan, height));
}

void CosmosSource::arm_watch() {
  if (!settings_.use_inotify || events_.is_open()) return;
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    if (!watch_failure_reported_) {
      watch_failure_reported_ = true;
      report_error("cosmos watch " + directory_ + ": inotify_init1: " + errno_text(errno) +
                   "; polling every " + format_duration(settings_.fallback_poll));
    }
    return;
  }
  // IN_DELETE_SELF / IN_MOVE_SELF: the directory itself went away; the watch is re-armed by path.
  const std::uint32_t mask =
      IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
  if (::inotify_add_watch(fd, directory_.c_str(), mask) < 0) {
    const int error = errno;
    ::close(fd);
    if (!watch_failure_reported_) {
      watch_failure_reported_ = true;
      report_error("cosmos watch " + directory_ + ": inotify_add_watch: " + errno_text(error) +
                   "; polling every " + format_duration(settings_.fallback_poll) +
                   " until it can be watched");
    }
    return;
  }
  boost::system::error_code error;
  events_.assign(fd, error);
  if (error) {
    ::close(fd);
    report_error("cosmos watch " + directory_ + ": " + error.message());
    return;
  }
  if (watch_failure_reported_) {
    log::info("source_watching", "cosmos: watching " + directory_ + " for " + file_name_);
  }
  watch_failure_reported_ = false;
  read_events();
}

void CosmosSource::drop_watch() {
  boost::system::error_code ignored;
  events_.close(ignored);  // closing the inotify descriptor removes its watch
}

void CosmosSource::read_events() {
  std::weak_ptr<char> alive = alive_;
  events_.async_read_some(
      boost::asio::buffer(event_buffer_),
      [this, alive](const boost::system::error_code& error, std::size_t bytes) {
        if (error == boost::asio::error::operation_aborted || alive.expired()) return;
        if (error) {
          report_error("cosmos watch " + directory_ + ": read inotify events: " + error.message());
          drop_watch();  // re-armed on the next fallback poll
          return;
        }
        on_events(bytes);
      });
}

void CosmosSource::on_events(std::size_t bytes) {
  bool changed = false;
  bool lost = false;
  std::size_t offset = 0;
  while (offset + sizeof(struct inotify_event) <= bytes) {
    struct inotify_event event;
    std::memcpy(&event, event_buffer_.data() + offset, sizeof event);
    const char* name = event_buffer_.data() + offset + sizeof(struct inotify_event);
    if (event.mask & IN_Q_OVERFLOW) changed = true;
    if (event.mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) lost = true;
    if (event.len > 0 && file_name_ == std::string(name, ::strnlen(name, event.len)))
      changed = true;
    offset += sizeof(struct inotify_event) + event.len;
  }
  if (lost) {
    log::debug("source_watch_lost",
               "cosmos: watch of " + directory_ + " lost; re-armed by polling");
    drop_watch();
  }
  if (changed) loop_.poll_now();
  if (!lost && running_) read_events();
}

void CosmosSource::handle(const FetchOutcome& outcome) {
  if (outcome.kind == FetchOutcome::Kind::absent) {  // no plan yet: the normal state
    bad_since_.reset();
    if (on_poll_) on_poll_(true, outcome.latency_seconds);
    return;
  }
  if (outcome.kind == FetchOutcome::Kind::failed) {
    if (on_poll_) on_poll_(false, outcome.latency_seconds);
    if (running_) report_error("cosmos read " + outcome.error);
    return;
  }
  auto parsed = parse_upgrade_info(outcome.body);
  if (!parsed) {
    // A half-written file is not a failed poll; content that stays garbled is.
    const bool stuck = handle_unparsable(outcome.body, parsed.error());
    if (on_poll_) on_poll_(!stuck, outcome.latency_seconds);
    return;
  }
  if (on_poll_) on_poll_(true, outcome.latency_seconds);
  if (!running_) return;
  bad_since_.reset();
  bad_body_.clear();
  errors_.clear();

  const UpgradeInfo& info = parsed.value();
  const PlanKey key(info.name, info.height);
  if (acted_.count(key) != 0 || done_.count(key) != 0) return;
  UpgradeDecision decision = decide_cosmos(info, "", current_version_);
  if (!decision.activate) {
    if (last_skipped_ != key) {
      last_skipped_ = key;
      log::debug("source_plan_skipped", "cosmos: " + decision.reason);
    }
    return;
  }
  acted_.insert(key);
  last_ = decision;
  log::debug("source_decision", "cosmos: " + decision.reason);
  if (on_decision_) on_decision_(decision);
}

bool CosmosSource::handle_unparsable(const std::string& body, const std::string& error) {
  const TimePoint now = SteadyClock::now();
  if (!bad_since_ || body != bad_body_) {  // new content: perhaps still being written
    bad_body_ = body;
    bad_since_ = now;
    log::debug("source_unparsable", "cosmos: " + path_ + " does not parse yet: " + error);
    return false;
  }
  // Unchanged for half a fallback interval: nobody is writing it any more.
  if (now - *bad_since_ < settings_.fallback_poll / 2) return false;
  if (running_) report_error("cosmos parse " + path_ + ": " + error);
  return true;
}

void CosmosSource::report_error(const std::string& line) {
  if (!errors_.admit(line, SteadyClock::now())) {
    log::debug("source_error_repeated", line);
    return;
  }
  if (on_error_) on_error_(line);
}

}  // namespace visor
