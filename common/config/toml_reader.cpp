#include "common/config/toml_reader.h"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace wsgate::config::detail {
namespace {

int clampPosition(toml::source_index index) {
  return index > static_cast<toml::source_index>(std::numeric_limits<int>::max())
             ? std::numeric_limits<int>::max()
             : static_cast<int>(index);
}

bool isBareKey(std::string_view key) {
  if (key.empty()) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

std::string quoteKey(std::string_view key) {
  std::string out = "\"";
  for (char c : key) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Levenshtein distance, for suggesting a known key in place of a misspelt one.
std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string expectedType(std::string_view what, const toml::node& node) {
  return "expected " + std::string(what) + ", got " + std::string(describeType(node));
}

} // namespace

void ErrorSink::add(const toml::source_region& where, std::string keyPath, std::string message) {
  errors_.push_back(ConfigError{file_, clampPosition(where.begin.line),
                                clampPosition(where.begin.column), std::move(keyPath),
                                std::move(message)});
}

void ErrorSink::addAtTop(std::string keyPath, std::string message) {
  errors_.push_back(ConfigError{file_, 1, 1, std::move(keyPath), std::move(message)});
}

std::vector<ConfigError> ErrorSink::take() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  return std::move(errors_);
}

std::string childPath(std::string_view parent, std::string_view key) {
  std::string name = isBareKey(key) ? std::string(key) : quoteKey(key);
  if (parent.empty()) return name;
  return std::string(parent) + "." + name;
}

std::string indexPath(std::string_view parent, std::size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

std::string_view describeType(const toml::node& node) {
  switch (node.type()) {
  case toml::node_type::table:
    return "a table";
  case toml::node_type::array:
    return "an array";
  case toml::node_type::string:
    return "a string";
  case toml::node_type::integer:
    return "an integer";
  case toml::node_type::floating_point:
    return "a floating-point number";
  case toml::node_type::boolean:
    return "a boolean";
  case toml::node_type::date:
    return "a date";
  case toml::node_type::time:
    return "a time";
  case toml::node_type::date_time:
    return "a date-time";
  case toml::node_type::none:
    break;
  }
  return "nothing";
}

const toml::node* TableReader::get(std::string_view key, Need need) {
  known_.emplace_back(key);
  const toml::node* node = table_.get(key);
  errors_.recordKey(node, pathOf(key));
  if (node == nullptr && need == Need::Required) {
    errors_.add(table_.source(), pathOf(key), "missing required key \"" + std::string(key) + "\"");
  }
  return node;
}

void TableReader::error(const toml::node& at, std::string_view key, std::string message) {
  errors_.add(at.source(), pathOf(key), std::move(message));
}

const toml::node* TableReader::readString(std::string_view key, std::string& out, Need need) {
  const toml::node* node = get(key, need);
  if (node == nullptr) return nullptr;
  if (const auto* value = node->as_string()) {
    out = value->get();
    return node;
  }
  error(*node, key, expectedType("a string", *node));
  return nullptr;
}

const toml::node* TableReader::readNonEmptyString(std::string_view key, std::string& out,
                                                  Need need) {
  std::string value;
  const toml::node* node = readString(key, value, need);
  if (node == nullptr) return nullptr;
  if (value.empty()) {
    error(*node, key, "must not be empty");
    return nullptr;
  }
  out = std::move(value);
  return node;
}

const toml::node* TableReader::readBool(std::string_view key, bool& out) {
  const toml::node* node = get(key);
  if (node == nullptr) return nullptr;
  if (const auto* value = node->as_boolean()) {
    out = value->get();
    return node;
  }
  error(*node, key, expectedType("true or false", *node));
  return nullptr;
}

const toml::node* TableReader::readInteger(std::string_view key, int64_t& out, int64_t min,
                                           int64_t max, Need need) {
  const toml::node* node = get(key, need);
  if (node == nullptr) return nullptr;
  const auto* value = node->as_integer();
  if (value == nullptr) {
    error(*node, key, expectedType("an integer", *node));
    return nullptr;
  }
  const int64_t n = value->get();
  if (n < min || n > max) {
    error(*node, key,
          std::to_string(n) + " is out of range; expected " + std::to_string(min) + " to " +
              std::to_string(max));
    return nullptr;
  }
  out = n;
  return node;
}

const toml::node* TableReader::readDuration(std::string_view key, Duration& out,
                                            DurationRule rule) {
  const toml::node* node = get(key);
  if (node == nullptr) return nullptr;
  Duration value{0};
  if (const auto* integer = node->as_integer()) {
    // A bare 0 is unambiguous; any other number needs a unit.
    if (integer->get() != 0) {
      error(*node, key,
            "a duration needs a unit: write \"" + std::to_string(integer->get()) + "s\" or \"" +
                std::to_string(integer->get()) + "ms\"");
      return nullptr;
    }
  } else if (const auto* text = node->as_string()) {
    Parsed<Duration> parsed = parseDuration(text->get());
    if (!parsed) {
      error(*node, key, std::move(parsed.error));
      return nullptr;
    }
    value = *parsed.value;
  } else {
    error(*node, key, expectedType("a duration string like \"30s\"", *node));
    return nullptr;
  }
  if (rule == DurationRule::Positive && value.count() == 0) {
    error(*node, key, "must be greater than zero");
    return nullptr;
  }
  out = value;
  return node;
}

const toml::node* TableReader::readSize(std::string_view key, uint64_t& out, SizeRule rule) {
  const toml::node* node = get(key);
  if (node == nullptr) return nullptr;
  uint64_t value = 0;
  if (const auto* integer = node->as_integer()) {
    if (integer->get() < 0) {
      error(*node, key, "a size cannot be negative");
      return nullptr;
    }
    value = static_cast<uint64_t>(integer->get());
  } else if (const auto* text = node->as_string()) {
    Parsed<uint64_t> parsed = parseSize(text->get());
    if (!parsed) {
      error(*node, key, std::move(parsed.error));
      return nullptr;
    }
    value = *parsed.value;
  } else {
    error(*node, key, expectedType("a size (bytes, or a string like \"64KiB\")", *node));
    return nullptr;
  }
  if (value == 0 && rule == SizeRule::Positive) {
    error(*node, key, "must be at least 1 byte");
    return nullptr;
  }
  out = value;
  return node;
}

const toml::node* TableReader::readAddress(std::string_view key, Address& out, PortRule rule,
                                           Need need) {
  std::string text;
  const toml::node* node = readString(key, text, need);
  if (node == nullptr) return nullptr;
  Parsed<Address> parsed = parseAddress(text, rule);
  if (!parsed) {
    error(*node, key, std::move(parsed.error));
    return nullptr;
  }
  out = std::move(*parsed.value);
  return node;
}

const toml::table* TableReader::getTable(std::string_view key, Need need) {
  const toml::node* node = get(key, need);
  if (node == nullptr) return nullptr;
  if (const auto* table = node->as_table()) return table;
  error(*node, key, expectedType("a table", *node));
  return nullptr;
}

const toml::table* TableReader::namedTable(std::string_view key, std::string_view noun,
                                           const toml::key& name, const toml::node& node,
                                           const std::string& path) {
  const toml::table* entry = node.as_table();
  if (entry == nullptr) {
    errors_.add(node.source(), path,
                "expected a table [" + std::string(key) + "." + std::string(name.str()) +
                    "], got " + std::string(describeType(node)));
    return nullptr;
  }
  if (name.str().empty()) {
    errors_.add(name.source(), path, std::string(noun) + " name must not be empty");
    return nullptr;
  }
  return entry;
}

const toml::array* TableReader::getArray(std::string_view key, Need need) {
  const toml::node* node = get(key, need);
  if (node == nullptr) return nullptr;
  if (const auto* array = node->as_array()) return array;
  error(*node, key, expectedType("an array", *node));
  return nullptr;
}

void TableReader::reportUnknownKeys() {
  for (const auto& [key, value] : table_) {
    const std::string_view name = key.str();
    if (std::find(known_.begin(), known_.end(), name) != known_.end()) continue;
    std::string message = "unknown key " + quoteKey(name);
    const std::string* best = nullptr;
    // Suggest only close matches, and never a whole different word for a short key.
    std::size_t bestDistance = std::min<std::size_t>(3, name.size());
    for (const std::string& candidate : known_) {
      const std::size_t distance = editDistance(name, candidate);
      if (distance < bestDistance) {
        bestDistance = distance;
        best = &candidate;
      }
    }
    if (best != nullptr) message += " (did you mean \"" + *best + "\"?)";
    errors_.add(key.source(), pathOf(name), std::move(message));
  }
}

} // namespace wsgate::config::detail
