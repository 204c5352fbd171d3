#pragma once

// Internal to the config loader: typed, error-collecting reads from toml++ tables.
// Nothing here throws on bad input; problems become ConfigErrors in an ErrorSink and
// the read leaves its output untouched.

#include "common/config/config.h"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <toml++/toml.h>
#include <utility>
#include <vector>

namespace wsgate::config::detail {

// The errors of one load, all in the same file.
class ErrorSink {
public:
  explicit ErrorSink(std::string file) : file_(std::move(file)) {}

  // At the start of `where`, the position toml++ recorded for a node or key.
  void add(const toml::source_region& where, std::string keyPath, std::string message);
  // At line 1, column 1: for problems of the file as a whole ("no listeners").
  void addAtTop(std::string keyPath, std::string message);

  [[nodiscard]] bool empty() const { return errors_.empty(); }
  // When set, every key path asked for whose value is not a table or an array of tables is
  // appended to `keys` (for acceptedKeys()).
  void recordKeys(std::vector<std::string>* keys) { keys_ = keys; }
  void recordKey(const toml::node* value, std::string path) {
    if (keys_ == nullptr) return;
    if (value != nullptr && (value->is_table() || value->is_array_of_tables())) return;
    keys_->push_back(std::move(path));
  }
  // The errors sorted by position, stable for equal positions.
  std::vector<ConfigError> take();

private:
  std::string file_;
  std::vector<ConfigError> errors_;
  std::vector<std::string>* keys_ = nullptr;
};

// "parent.key", quoting the key when it is not a bare TOML key; just "key" at the root.
std::string childPath(std::string_view parent, std::string_view key);
// "parent[index]".
std::string indexPath(std::string_view parent, std::size_t index);
// "a string", "an integer", ...: for "expected X, got Y".
std::string_view describeType(const toml::node& node);

enum class Need { Optional, Required };

// What a duration may be.
enum class DurationRule { ZeroAllowed, Positive };

// What a size may be.
enum class SizeRule { ZeroAllowed, Positive };

// Whether reading an array goes on after a bad element (to report every one) or stops.
enum class ArrayErrors { Stop, Continue };

// Reads the keys of one table. Every key asked for through get() (and the typed reads
// built on it) counts as known; reportUnknownKeys() then flags the rest, so each
// section must ask for all of its keys before calling it.
class TableReader {
public:
  TableReader(const toml::table& table, std::string path, ErrorSink& errors)
      : table_(table), path_(std::move(path)), errors_(errors) {}
  TableReader(const TableReader&) = delete;
  TableReader& operator=(const TableReader&) = delete;
  ~TableReader() = default;

  [[nodiscard]] const toml::table& table() const { return table_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string pathOf(std::string_view key) const { return childPath(path_, key); }
  ErrorSink& errors() { return errors_; }

  // The value under `key`, or nullptr; with Need::Required its absence is reported.
  const toml::node* get(std::string_view key, Need need = Need::Optional);
  // Reports a problem with the value of `key` (or anything inside it) at `at`.
  void error(const toml::node& at, std::string_view key, std::string message);

  // Each typed read returns the node when `out` was set from it, and nullptr when the
  // key is absent or its value was reported as invalid.
  const toml::node* readString(std::string_view key, std::string& out, Need need = Need::Optional);
  const toml::node* readNonEmptyString(std::string_view key, std::string& out,
                                       Need need = Need::Optional);
  const toml::node* readBool(std::string_view key, bool& out);
  const toml::node* readInteger(std::string_view key, int64_t& out, int64_t min, int64_t max,
                                Need need = Need::Optional);
  const toml::node* readDuration(std::string_view key, Duration& out, DurationRule rule);
  const toml::node* readSize(std::string_view key, uint64_t& out,
                             SizeRule rule = SizeRule::Positive);
  const toml::node* readAddress(std::string_view key, Address& out, PortRule rule,
                                Need need = Need::Optional);

  template <typename Int>
  const toml::node* readUnsigned(std::string_view key, Int& out, int64_t min, int64_t max) {
    int64_t value = 0;
    const toml::node* node = readInteger(key, value, min, max);
    if (node != nullptr) out = static_cast<Int>(value);
    return node;
  }

  // A string that must be one of `names`; the matching value is stored.
  template <typename Enum>
  const toml::node* readEnum(std::string_view key, Enum& out,
                             std::initializer_list<std::pair<std::string_view, Enum>> names) {
    std::string text;
    const toml::node* node = readString(key, text);
    if (node == nullptr) return nullptr;
    for (const auto& [name, value] : names) {
      if (name == text) {
        out = value;
        return node;
      }
    }
    std::string choices;
    for (const auto& entry : names) {
      choices += (choices.empty() ? "\"" : ", \"") + std::string(entry.first) + "\"";
    }
    error(*node, key, "invalid value \"" + text + "\"; expected one of " + choices);
    return nullptr;
  }

  // The table or array under `key`, or nullptr; a value of another type is reported.
  const toml::table* getTable(std::string_view key, Need need = Need::Optional);
  const toml::array* getArray(std::string_view key, Need need = Need::Optional);

  // Walks the array of strings under `key` in order, calling `each(text)`, which returns a
  // problem with that value or "" when it is good; each problem, and each element that is not
  // a string, is reported at the element ("key[i]"). With ArrayErrors::Stop the walk ends at
  // the first problem. Returns true when the key is present and nothing was reported.
  template <typename Each>
  bool readStringArray(std::string_view key, ArrayErrors on_error, Each&& each) {
    const toml::array* array = getArray(key);
    if (array == nullptr) return false;
    const std::string arrayPath = pathOf(key);
    bool good = true;
    for (std::size_t i = 0; i < array->size(); ++i) {
      const toml::node& node = *array->get(i);
      const auto* text = node.as_string();
      std::string problem = text == nullptr
                                ? "expected a string, got " + std::string(describeType(node))
                                : std::string(each(text->get()));
      if (problem.empty()) continue;
      errors_.add(node.source(), indexPath(arrayPath, i), std::move(problem));
      good = false;
      if (on_error == ArrayErrors::Stop) break;
    }
    return good;
  }

  // Walks the table under `key` whose entries are named tables ([key.NAME]): calls
  // `each(name, entry)` with a reader of each entry, then reports the entry's unknown keys. An
  // entry that is not a table or has an empty name is reported (`noun`: "an auth", "a policy")
  // and skipped.
  template <typename Each>
  void readNamedTables(std::string_view key, std::string_view noun, Each&& each) {
    const toml::table* table = getTable(key);
    if (table == nullptr) return;
    for (const auto& [name, node] : *table) {
      const std::string path = childPath(pathOf(key), name.str());
      const toml::table* entry = namedTable(key, noun, name, node, path);
      if (entry == nullptr) continue;
      TableReader in(*entry, path, errors_);
      each(std::string(name.str()), in);
      in.reportUnknownKeys();
    }
  }

  // Reports every key of the table that was never asked for.
  void reportUnknownKeys();

private:
  // The entry `name` of [key] as a table, or nullptr when it was reported (see readNamedTables).
  const toml::table* namedTable(std::string_view key, std::string_view noun, const toml::key& name,
                                const toml::node& node, const std::string& path);

  const toml::table& table_;
  std::string path_;
  ErrorSink& errors_;
  std::vector<std::string> known_; // keys asked for, for "did you mean"
};

} // namespace wsgate::config::detail
