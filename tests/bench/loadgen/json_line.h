#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wsgate::bench {

// Builds one JSON object on one line: {"key":value,...}. Keys are plain ASCII identifiers;
// string values are escaped. Numbers that are not finite are written as null.
class JsonLine {
public:
  JsonLine& add(std::string_view key, std::string_view value);
  JsonLine& add(std::string_view key, const char* value) {
    return add(key, std::string_view(value));
  }
  JsonLine& add(std::string_view key, int64_t value);
  JsonLine& add(std::string_view key, uint64_t value);
  JsonLine& add(std::string_view key, int value) { return add(key, static_cast<int64_t>(value)); }
  JsonLine& add(std::string_view key, bool value);
  // `decimals` digits after the point.
  JsonLine& add(std::string_view key, double value, int decimals);
  // A nested object, already rendered by another JsonLine.
  JsonLine& addObject(std::string_view key, const JsonLine& object);

  std::string str() const { return text_ + "}"; }

private:
  void key(std::string_view name);
  std::string text_ = "{";
};

} // namespace wsgate::bench
