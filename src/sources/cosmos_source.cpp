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
      node_(options.node),
      chain_id_(options.chain_id),
      plan_downloads_(options.plan_downloads),
      prestage_plans_(options.source == SourceKind::cosmos),
      request_timeout_(options.request_timeout),
      ca_bundle_(options.ca_bundle),
      settings_(settings),
      loop_(io, worker, settings.fallback_poll),
      events_(io) {
  if (!node_.empty()) plan_loop_ = std::make_unique<PollLoop>(io, worker, options.poll_interval);
  const std::filesystem::path file(path_);
  directory_ = file.has_parent_path() ? file.parent_path().string() : ".";
  file_name_ = file.filename().string();
}

CosmosSource::~CosmosSource() {
  cancel_->store(true);
  stop();
}

void CosmosSource::start(DecisionCallback on_decision, ErrorCallback on_error,
                         PollCallback on_poll) {
  if (running_) return;
  on_decision_ = std::move(on_decision);
  on_error_ = std::move(on_error);
  on_poll_ = std::move(on_poll);
  running_ = true;
  alive_ = std::make_shared<char>(0);
  cancel_ = std::make_shared<std::atomic<bool>>(false);
  arm_watch();
  loop_.start(
      [this]() -> PollLoop::Fetch {
        if (!events_.is_open()) arm_watch();  // re-arm a lost watch on every fallback poll
        return [path = path_]() { return read_upgrade_info(path, kUpgradeInfoLimit); };
      },
      [this](const FetchOutcome& outcome) { handle(outcome); });
  if (plan_loop_) {
    plan_loop_->start([this] { return make_plan_fetch(); },
                      [this](const FetchOutcome& outcome) { handle_plan(outcome); });
  }
}

void CosmosSource::set_current_version(const std::string& version) { current_version_ = version; }

void CosmosSource::stop() {
  running_ = false;
  alive_.reset();
  loop_.stop();
  if (plan_loop_) {
    cancel_->store(true);
    plan_loop_->stop();
  }
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

std::optional<UpgradeDecision> CosmosSource::read_now() {
  const FetchOutcome read = read_upgrade_info(path_, kUpgradeInfoLimit);
  // No file (no plan) or an unreadable one (the watcher reports it): no halt known now.
  if (read.kind != FetchOutcome::Kind::ok) return std::nullopt;
  auto parsed = parse_upgrade_info(read.body);
  if (!parsed) return std::nullopt;
  const PlanKey key(parsed->name, parsed->height);
  if (done_.count(key) != 0) return std::nullopt;
  UpgradeDecision decision = decide_cosmos(parsed.value(), "", current_version_);
  if (!decision.activate) return std::nullopt;
  acted_.insert(key);  // the watcher need not deliver it again
  last_ = decision;
  prestaging_.reset();  // the halt's decision supersedes the pre-staging one
  return decision;
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
  apply_plan_downloads(decision);
  if (!decision.activate) {
    if (last_skipped_ != key) {
      last_skipped_ = key;
      log::debug("source_plan_skipped", "cosmos: " + decision.reason);
    }
    return;
  }
  acted_.insert(key);
  last_ = decision;
  prestaging_.reset();  // the halt's decision supersedes the pre-staging one
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

NetworkView CosmosSource::network() const {
  NetworkView view;
  if (node_status_) {
    view.chain_id = node_status_->chain_id;
    view.chain_height = node_status_->height;
  }
  if (scheduled_) {
    ScheduledPlan plan;
    plan.name = scheduled_->name;
    plan.height = scheduled_->height;
    plan.version = decide_cosmos(*scheduled_, "").target;
    view.plan = std::move(plan);
  }
  return view;
}

PollLoop::Fetch CosmosSource::make_plan_fetch() {
  HttpRequest request;
  request.timeout = request_timeout_;
  request.max_body = kSourceReplyLimit;
  request.allow_http = true;  // a node's RPC port is often plain http on a private network
  request.ca_bundle = ca_bundle_;
  request.cancel = cancel_;
  return [http = http_, request = std::move(request), node = node_]() {
    return fetch_node_query(http, request, node, kCurrentPlanQuery);
  };
}

Result<std::optional<UpgradeInfo>> CosmosSource::read_plan(const FetchOutcome& outcome) {
  using Answer = Result<std::optional<UpgradeInfo>>;
  auto status = parse_node_status(outcome.node_status);
  if (!status) return Answer::failure("/status: " + status.error());
  if (auto chain = check_chain(status.value(), chain_id_); !chain.ok()) {
    return Answer::failure(chain.error());
  }
  auto value = parse_abci_query(outcome.body);
  if (!value) return Answer::failure(value.error());
  auto plan = decode_current_plan(value.value());
  if (plan) node_status_ = std::move(status).value();  // only a node of the right chain counts
  return plan;
}

void CosmosSource::handle_plan(const FetchOutcome& outcome) {
  if (outcome.kind != FetchOutcome::Kind::ok) {
    if (on_poll_) on_poll_(false, outcome.latency_seconds);
    if (running_) report_error("cosmos plan poll " + outcome.error);
    return;
  }
  auto plan = read_plan(outcome);
  if (on_poll_) on_poll_(plan.ok(), outcome.latency_seconds);
  if (!running_) return;
  if (!plan) {
    report_error("cosmos plan poll " + url_for_display(node_) + ": " + plan.error());
    return;
  }
  errors_.clear();
  scheduled_ = std::move(plan).value();
  withdraw_prestaging();
  if (!scheduled_ || !prestage_plans_) return;
  const PlanKey key(scheduled_->name, scheduled_->height);
  // A plan the chain already halted for came from the file: its decision is the one to keep.
  if (acted_.count(key) != 0 || done_.count(key) != 0 || prestaged_.count(key) != 0) return;
  UpgradeDecision decision = decide_cosmos(*scheduled_, "", current_version_);
  apply_plan_downloads(decision);
  if (!decision.activate) {  // not above the current version: nothing to fetch
    if (last_skipped_ != key) {
      last_skipped_ = key;
      log::debug("source_plan_skipped", "cosmos: " + decision.reason);
    }
    return;
  }
  prestaged_.insert(key);
  decision.activate = false;
  decision.reason =
      "cosmos: plan " + scheduled_->name + " is scheduled at height " +
      std::to_string(scheduled_->height) +
      (node_status_ ? " (chain at " + std::to_string(node_status_->height) + ")" : std::string()) +
      ": pre-staging " + (decision.target.empty() ? "its binary" : decision.target) +
      " before the halt";
  log::debug("source_decision", decision.reason);
  prestaging_ = key;
  if (on_decision_) on_decision_(decision);
}

void CosmosSource::withdraw_prestaging() {
  if (!prestaging_) return;
  if (scheduled_ && PlanKey(scheduled_->name, scheduled_->height) == *prestaging_) return;
  const PlanKey gone = *prestaging_;
  // A plan leaves CurrentPlan too when the network carries it out at its height; a node ahead of
  // the local one (a remote or load-balanced --node) says so before the local node halts, and
  // the binary is needed then more than ever.
  if (node_status_ && gone.second > 0 && node_status_->height >= gone.second - 1) return;
  prestaging_.reset();
  prestaged_.erase(gone);  // scheduled again later: pre-staged again
  if (acted_.count(gone) != 0 || done_.count(gone) != 0) return;
  // The chain no longer schedules the plan (cancelled, or replaced by another): what it asked
  // to pre-stage is not wanted any more, so a failing download stops being retried.
  UpgradeDecision nothing;
  nothing.reason = "cosmos: plan " + gone.first + " at height " + std::to_string(gone.second) +
                   " is no longer scheduled on chain; not pre-staging it";
  log::debug("source_decision", nothing.reason);
  if (on_decision_) on_decision_(nothing);
}

void CosmosSource::apply_plan_downloads(UpgradeDecision& decision) const {
  if (plan_downloads_ || decision.url.empty()) return;
  log::debug("plan_downloads_off",
             "cosmos: plan " + decision.plan +
                 " lists a binary; not downloading it (--plan-downloads off)");
  decision.url.clear();
  decision.sha256.clear();
}

}  // namespace visor
