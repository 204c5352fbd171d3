#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::http {

// One header field as it arrived. `name` keeps the sender's case; `value` has no leading or
// trailing spaces and tabs.
struct Header {
  std::string name;
  std::string value;
};

// ASCII case-insensitive equality, for header names and tokens.
bool equalsIgnoreCase(std::string_view a, std::string_view b);

// True for the characters RFC 9110 section 5.6.2 allows in a token (header names, methods).
bool isTokenChar(uint8_t c);
// True when `s` is a non-empty token.
bool isToken(std::string_view s);
// True for a byte allowed inside a field value or reason phrase: HTAB, SP, VCHAR, obs-text.
bool isFieldValueChar(uint8_t c);

// `s` without leading and trailing spaces and tabs.
std::string_view trimOws(std::string_view s);

// True when the comma-separated list `value` holds `token`, compared case-insensitively after
// trimming optional white space ("keep-alive, Upgrade" holds "upgrade").
bool listHasToken(std::string_view value, std::string_view token);

// Appends the field "name: value" and its CRLF to a message being written.
void appendHeader(std::string& out, std::string_view name, std::string_view value);

// The header fields of one message, in arrival order. Repeated fields stay separate entries;
// lookups compare names case-insensitively.
class HeaderList {
public:
  using const_iterator = std::vector<Header>::const_iterator;

  void add(std::string name, std::string value);

  // The value of the first field named `name`.
  std::optional<std::string_view> get(std::string_view name) const;
  // Every value of the fields named `name`, joined by ", " in arrival order (RFC 9110 section
  // 5.3); nullopt when there is none.
  std::optional<std::string> getAll(std::string_view name) const;
  // How many fields are named `name`.
  std::size_t count(std::string_view name) const;
  bool contains(std::string_view name) const { return get(name).has_value(); }
  // True when any field named `name` lists `token` (see listHasToken).
  bool hasToken(std::string_view name, std::string_view token) const;

  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const Header& operator[](std::size_t i) const { return entries_[i]; }
  const_iterator begin() const { return entries_.begin(); }
  const_iterator end() const { return entries_.end(); }

private:
  std::vector<Header> entries_;
};

} // namespace wsgate::http
