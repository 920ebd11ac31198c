#include "visor/common/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>

#include "visor/common/outside_text.h"

namespace visor::log {
namespace {

struct LoggerState {
  std::mutex mutex;
  Format format = Format::text;
  Level level = Level::info;
  std::shared_ptr<spdlog::logger> logger;
};

LoggerState& state() {
  static LoggerState instance;
  return instance;
}

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::trace:
      return spdlog::level::trace;
    case Level::debug:
      return spdlog::level::debug;
    case Level::info:
      return spdlog::level::info;
    case Level::warn:
      return spdlog::level::warn;
    case Level::error:
      return spdlog::level::err;
    case Level::critical:
      return spdlog::level::critical;
    case Level::off:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

const char* level_name(Level level) {
  switch (level) {
    case Level::trace:
      return "trace";
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
    case Level::critical:
      return "critical";
    case Level::off:
      return "off";
  }
  return "info";
}

std::string utc_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char buffer[40];
  const size_t length = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &parts);
  std::snprintf(buffer + length, sizeof buffer - length, ".%03dZ", static_cast<int>(millis));
  return buffer;
}

// Creates the logger on first use; the caller holds the state's mutex.
void ensure_logger(LoggerState& current) {
  if (current.logger) return;
  // The line is fully rendered by render(); spdlog only carries it to stderr.
  current.logger =
      std::make_shared<spdlog::logger>("visor", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  current.logger->set_pattern("%v");
  current.logger->flush_on(spdlog::level::trace);
  current.logger->set_level(to_spdlog(current.level));
}

}  // namespace

void setup(Format format, Level level) {
  auto& current = state();
  std::lock_guard<std::mutex> lock(current.mutex);
  current.format = format;
  current.level = level;
  ensure_logger(current);
  current.logger->set_level(to_spdlog(level));
}

bool parse_level(std::string_view name, Level& level) {
  static const std::pair<const char*, Level> kNames[] = {
      {"trace", Level::trace},       {"debug", Level::debug},  {"info", Level::info},
      {"warn", Level::warn},         {"warning", Level::warn}, {"error", Level::error},
      {"critical", Level::critical}, {"off", Level::off}};
  for (const auto& [text, value] : kNames) {
    if (name == text) {
      level = value;
      return true;
    }
  }
  return false;
}

std::string render(Format format, Level level, std::string_view event, std::string_view message,
                   std::initializer_list<Field> fields, std::string_view timestamp) {
  // Messages quote outside text (replies, files, paths): every line is one line of valid
  // UTF-8 and bounded, whoever built the message.
  const std::string safe_message = outside_text(message, kMaxMessageBytes);
  if (format == Format::json) {
    nlohmann::ordered_json line;
    line["time"] = timestamp;
    line["level"] = level_name(level);
    line["event"] = outside_text(event, kMaxFieldBytes);
    line["msg"] = safe_message;
    for (const auto& field : fields)
      line[outside_text(field.key, kMaxFieldBytes)] = outside_text(field.value, kMaxFieldBytes);
    return dump_json(line);
  }
  std::string text;
  text.reserve(64 + safe_message.size());
  text.append(timestamp).append(" visor ");
  std::string level_text = level_name(level);
  for (auto& c : level_text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  text.append(level_text).append(" ").append(safe_message);
  for (const auto& field : fields) {
    text.append(" ")
        .append(outside_text(field.key, kMaxFieldBytes))
        .append("=")
        .append(outside_text(field.value, kMaxFieldBytes));
  }
  return text;
}

void write(Level level, std::string_view event, std::string_view message,
           std::initializer_list<Field> fields) {
  auto& current = state();
  std::shared_ptr<spdlog::logger> logger;
  Format format;
  {
    std::lock_guard<std::mutex> lock(current.mutex);
    ensure_logger(current);
    if (level < current.level) return;
    logger = current.logger;
    format = current.format;
  }
  logger->log(to_spdlog(level), "{}",
              render(format, level, event, message, fields, utc_timestamp()));
}

}  // namespace visor::log
