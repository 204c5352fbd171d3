#include "common/http/headers.h"

#include <utility>

namespace wsgate::http {

namespace {

constexpr uint8_t lowerAscii(uint8_t c) {
  return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

constexpr bool isOws(char c) {
  return c == ' ' || c == '\t';
}

} // namespace

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lowerAscii(static_cast<uint8_t>(a[i])) != lowerAscii(static_cast<uint8_t>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool isTokenChar(uint8_t c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
  case '!':
  case '#':
  case '$':
  case '%':
  case '&':
  case '\'':
  case '*':
  case '+':
  case '-':
  case '.':
  case '^':
  case '_':
  case '`':
  case '|':
  case '~':
    return true;
  default:
    return false;
  }
}

bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (!isTokenChar(static_cast<uint8_t>(c))) return false;
  }
  return true;
}

bool isFieldValueChar(uint8_t c) {
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && isOws(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && isOws(s.back()))
    s.remove_suffix(1);
  return s;
}

void appendHeader(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

bool listHasToken(std::string_view value, std::string_view token) {
  while (true) {
    const std::size_t comma = value.find(',');
    if (equalsIgnoreCase(trimOws(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) return false;
    value.remove_prefix(comma + 1);
  }
}

void HeaderList::add(std::string name, std::string value) {
  entries_.push_back(Header{std::move(name), std::move(value)});
}

std::optional<std::string_view> HeaderList::get(std::string_view name) const {
  for (const Header& h : entries_) {
    if (equalsIgnoreCase(h.name, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}

std::optional<std::string> HeaderList::getAll(std::string_view name) const {
  std::optional<std::string> joined;
  for (const Header& h : entries_) {
    if (!equalsIgnoreCase(h.name, name)) continue;
    if (joined) {
      joined->append(", ");
      joined->append(h.value);
    } else {
      joined = h.value;
    }
  }
  return joined;
}

std::size_t HeaderList::count(std::string_view name) const {
  std::size_t n = 0;
  for (const Header& h : entries_) {
    if (equalsIgnoreCase(h.name, name)) ++n;
  }
  return n;
}

bool HeaderList::hasToken(std::string_view name, std::string_view token) const {
  for (const Header& h : entries_) {
    if (equalsIgnoreCase(h.name, name) && listHasToken(h.value, token)) return true;
  }
  return false;
}

} // namespace wsgate::http
