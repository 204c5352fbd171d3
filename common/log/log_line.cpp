#include "common/log/log_line.h"

#include "common/ws/utf8.h"

#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace wsgate::log {

namespace {

int64_t nowUnixMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

bool needsQuotes(std::string_view value) {
  if (value.empty()) return true;
  for (const char c : value) {
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

} // namespace

const char* levelName(Level level) {
  switch (level) {
  case Level::Error:
    return "error";
  case Level::Warn:
    return "warn";
  case Level::Info:
    return "info";
  case Level::Debug:
    return "debug";
  }
  return "info";
}

void appendJsonEscaped(std::string& out, std::string_view value) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(value.data());
  const bool valid = ws::Utf8Validator::validate({bytes, value.size()});
  for (std::size_t i = 0; i < value.size(); ++i) {
    const uint8_t c = bytes[i];
    switch (c) {
    case '"':
      out += "\\\"";
      continue;
    case '\\':
      out += "\\\\";
      continue;
    case '\n':
      out += "\\n";
      continue;
    case '\r':
      out += "\\r";
      continue;
    case '\t':
      out += "\\t";
      continue;
    default:
      break;
    }
    if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else if (c >= 0x80 && !valid) {
      out += "\\ufffd";
    } else {
      out += static_cast<char>(c);
    }
  }
}

std::string formatTimestamp(int64_t unix_ms) {
  const auto seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buf;
}

LogLine::LogLine(Format format, std::string_view event, const char* level) : format_(format) {
  out_.reserve(256);
  const std::string ts = formatTimestamp(nowUnixMs());
  if (format_ == Format::Json) {
    out_ += "{\"ts\":\"";
    out_ += ts;
    out_ += '"';
    if (level != nullptr) {
      out_ += ",\"level\":\"";
      out_ += level;
      out_ += '"';
    }
    out_ += ",\"event\":\"";
    appendJsonEscaped(out_, event);
    out_ += '"';
  } else {
    out_ += ts;
    if (level != nullptr) {
      out_ += ' ';
      out_ += level;
    }
    out_ += ' ';
    out_.append(event);
  }
}

void LogLine::key(std::string_view key) {
  if (format_ == Format::Json) {
    out_ += ",\"";
    out_.append(key);
    out_ += "\":";
  } else {
    out_ += ' ';
    out_.append(key);
    out_ += '=';
  }
}

LogLine& LogLine::str(std::string_view k, std::string_view value) {
  key(k);
  if (format_ == Format::Json || needsQuotes(value)) {
    out_ += '"';
    appendJsonEscaped(out_, value);
    out_ += '"';
  } else {
    appendJsonEscaped(out_, value);
  }
  return *this;
}

LogLine& LogLine::num(std::string_view k, int64_t value) {
  key(k);
  raw(std::to_string(value));
  return *this;
}

LogLine& LogLine::unum(std::string_view k, uint64_t value) {
  key(k);
  raw(std::to_string(value));
  return *this;
}

LogLine& LogLine::real(std::string_view k, double value, int decimals) {
  key(k);
  if (!std::isfinite(value)) {
    raw("null");
    return *this;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  raw(buf);
  return *this;
}

LogLine& LogLine::boolean(std::string_view k, bool value) {
  key(k);
  raw(value ? "true" : "false");
  return *this;
}

LogLine& LogLine::null(std::string_view k) {
  key(k);
  raw("null");
  return *this;
}

std::string LogLine::finish() {
  if (format_ == Format::Json) out_ += '}';
  out_ += '\n';
  return std::move(out_);
}

} // namespace wsgate::log
