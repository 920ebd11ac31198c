// visor's own log lines: one line per event, text for humans or JSON lines for machines.
// Child output never passes through here; it goes straight to the inherited descriptors.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace visor::log {

enum class Format { text, json };
enum class Level { trace, debug, info, warn, error, critical, off };

/// One extra key/value carried by a log line (e.g. version=5.2.1).
struct Field {
  std::string key;
  std::string value;
};

/// The longest message a line carries, and the longest field key or value, in bytes; longer text
/// is cut with a marker. Messages and fields pass through outside_text(), so a line is always
/// one line of valid UTF-8 whatever outside text a message quotes.
inline constexpr std::size_t kMaxMessageBytes = 2048;
inline constexpr std::size_t kMaxFieldBytes = 512;

/// Configures the process-wide logger writing to stderr.
void setup(Format format, Level level);
/// Parses "trace|debug|info|warn|error|critical|off"; false when the name is unknown.
bool parse_level(std::string_view name, Level& level);
/// Writes one line: `event` is a short machine name (e.g. "child_exited"), `message` the sentence.
void write(Level level, std::string_view event, std::string_view message,
           std::initializer_list<Field> fields = {});
/// Renders a line the way write() would, without writing it; for tests.
std::string render(Format format, Level level, std::string_view event, std::string_view message,
                   std::initializer_list<Field> fields, std::string_view timestamp);

inline void debug(std::string_view event, std::string_view message,
                  std::initializer_list<Field> fields = {}) {
  write(Level::debug, event, message, fields);
}
inline void info(std::string_view event, std::string_view message,
                 std::initializer_list<Field> fields = {}) {
  write(Level::info, event, message, fields);
}
inline void warn(std::string_view event, std::string_view message,
                 std::initializer_list<Field> fields = {}) {
  write(Level::warn, event, message, fields);
}
inline void error(std::string_view event, std::string_view message,
                  std::initializer_list<Field> fields = {}) {
  write(Level::error, event, message, fields);
}

}  // namespace visor::log
