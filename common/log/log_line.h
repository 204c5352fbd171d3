#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wsgate::log {

enum class Level : uint8_t { Error, Warn, Info, Debug };
const char* levelName(Level level);

// One structured log record, rendered as a JSON object (snake_case keys, one line) or as
// text ("2026-11-21T08:00:00.000Z info listening listener=public address=127.0.0.1:8080").
// Values are escaped; nothing here allocates per field beyond the line's own string.
class LogLine {
public:
  enum class Format : uint8_t { Json, Text };

  LogLine(Format format, std::string_view event, const char* level = nullptr);

  LogLine& str(std::string_view key, std::string_view value);
  LogLine& num(std::string_view key, int64_t value);
  LogLine& unum(std::string_view key, uint64_t value);
  LogLine& real(std::string_view key, double value, int decimals = 3);
  LogLine& boolean(std::string_view key, bool value);
  LogLine& null(std::string_view key);

  // The finished line with its trailing newline. Call once.
  std::string finish();

private:
  void key(std::string_view key);
  void raw(std::string_view value) { out_.append(value); }

  Format format_;
  std::string out_;
};

// Appends `value` to `out` as the body of a JSON string (no quotes), escaping quotes,
// backslashes and control characters; invalid UTF-8 bytes become U+FFFD.
void appendJsonEscaped(std::string& out, std::string_view value);

// "2026-11-21T08:00:00.123Z" for a wall-clock time in milliseconds since the epoch.
std::string formatTimestamp(int64_t unix_ms);

} // namespace wsgate::log
