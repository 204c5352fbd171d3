#include "tests/bench/loadgen/json_line.h"

#include <cmath>
#include <cstdio>

namespace wsgate::bench {

void JsonLine::key(std::string_view name) {
  if (text_.size() > 1) text_ += ',';
  text_ += '"';
  text_ += name;
  text_ += "\":";
}

JsonLine& JsonLine::add(std::string_view name, std::string_view value) {
  key(name);
  text_ += '"';
  for (const char c : value) {
    if (c == '"' || c == '\\') {
      text_ += '\\';
      text_ += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      text_ += escaped;
    } else {
      text_ += c;
    }
  }
  text_ += '"';
  return *this;
}

JsonLine& JsonLine::add(std::string_view name, int64_t value) {
  key(name);
  text_ += std::to_string(value);
  return *this;
}

JsonLine& JsonLine::add(std::string_view name, uint64_t value) {
  key(name);
  text_ += std::to_string(value);
  return *this;
}

JsonLine& JsonLine::add(std::string_view name, bool value) {
  key(name);
  text_ += value ? "true" : "false";
  return *this;
}

JsonLine& JsonLine::add(std::string_view name, double value, int decimals) {
  key(name);
  if (!std::isfinite(value)) {
    text_ += "null";
    return *this;
  }
  char number[64];
  std::snprintf(number, sizeof number, "%.*f", decimals, value);
  text_ += number;
  return *this;
}

JsonLine& JsonLine::addObject(std::string_view name, const JsonLine& object) {
  key(name);
  text_ += object.str();
  return *this;
}

} // namespace wsgate::bench
