#include "common/http/target.h"

#include "common/http/headers.h"

#include <vector>

namespace wsgate::http {

namespace {

bool isAlpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// RFC 3986 section 2.3.
bool isUnreserved(char c) {
  return isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// RFC 3986 section 2.2.
bool isSubDelim(char c) {
  return c == '!' || c == '$' || c == '&' || c == '\'' || c == '(' || c == ')' || c == '*' ||
         c == '+' || c == ',' || c == ';' || c == '=';
}

int hexValue(char c) {
  if (isDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 section 3.1).
bool isScheme(std::string_view s) {
  if (s.empty() || !isAlpha(s.front())) return false;
  for (const char c : s) {
    if (!isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

// host [ ":" port ], host an IP-literal in brackets or a reg-name (RFC 3986 section 3.2.2).
TargetError checkAuthority(std::string_view authority) {
  if (authority.find('@') != std::string_view::npos) return TargetError::UserInfo;
  std::string_view host = authority;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    const std::size_t close = host.find(']');
    if (close == std::string_view::npos || close == 1) return TargetError::BadAuthority;
    for (const char c : host.substr(1, close - 1)) {
      if (hexValue(c) < 0 && c != ':' && c != '.') return TargetError::BadAuthority;
    }
    const std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return TargetError::BadAuthority;
    if (!rest.empty()) port = rest.substr(1);
    host = host.substr(0, close + 1);
  } else {
    const std::size_t colon = host.find(':');
    if (colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
    }
    for (const char c : host) {
      if (!isUnreserved(c) && !isSubDelim(c) && c != '%') return TargetError::BadAuthority;
    }
  }
  if (host.empty() || port.size() > 5) return TargetError::BadAuthority;
  for (const char c : port) {
    if (!isDigit(c)) return TargetError::BadAuthority;
  }
  return TargetError::None;
}

// Decodes the escapes of unreserved characters and upper-cases the others; refuses the
// characters and escapes that would change the path's structure for someone downstream.
TargetError decodePath(std::string_view raw, std::string& out) {
  out.clear();
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '\\') return TargetError::Backslash;
    if (c != '%') {
      out += c;
      continue;
    }
    if (raw.size() - i < 3) return TargetError::BadPercent;
    const int hi = hexValue(raw[i + 1]);
    const int lo = hexValue(raw[i + 2]);
    if (hi < 0 || lo < 0) return TargetError::BadPercent;
    const char decoded = static_cast<char>(hi * 16 + lo);
    i += 2;
    if (decoded == '/') return TargetError::EncodedSlash;
    if (decoded == '\\') return TargetError::Backslash;
    if (decoded == '\0') return TargetError::EncodedNul;
    if (isUnreserved(decoded)) {
      out += decoded;
      continue;
    }
    static constexpr char kHex[] = "0123456789ABCDEF";
    out += '%';
    out += kHex[hi];
    out += kHex[lo];
  }
  return TargetError::None;
}

// Drops empty, "." and ".." segments of `path` (which starts with '/'), keeping a final '/'.
TargetError removeDotSegments(std::string_view path, std::string& out) {
  std::vector<std::string_view> kept;
  bool trailing_slash = false;
  std::string_view rest = path.substr(1);
  while (true) {
    const std::size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    const bool last = slash == std::string_view::npos;
    if (segment == "..") {
      if (kept.empty()) return TargetError::AboveRoot;
      kept.pop_back();
    } else if (segment.starts_with(".;") || segment.starts_with("..;")) {
      return TargetError::DotSegmentParams;
    } else if (!segment.empty() && segment != ".") {
      kept.push_back(segment);
    }
    if (last) {
      trailing_slash = segment.empty() || segment == "." || segment == "..";
      break;
    }
    rest.remove_prefix(slash + 1);
  }
  out = "/";
  for (std::size_t i = 0; i < kept.size(); ++i) {
    if (i > 0) out += '/';
    out += kept[i];
  }
  if (trailing_slash && !kept.empty()) out += '/';
  return TargetError::None;
}

} // namespace

const char* reasonFor(TargetError error) {
  switch (error) {
  case TargetError::None:
    return "";
  case TargetError::NotAbsolute:
    return "the request target must be an absolute path or an absolute URI";
  case TargetError::UnsupportedScheme:
    return "the request target's scheme must be http, https, ws or wss";
  case TargetError::BadAuthority:
    return "the request target's authority is not a valid host[:port]";
  case TargetError::UserInfo:
    return "the request target must not carry user information";
  case TargetError::Fragment:
    return "the request target must not carry a fragment ('#')";
  case TargetError::BadPercent:
    return "the path has a '%' not followed by two hex digits";
  case TargetError::EncodedSlash:
    return "the path holds an encoded slash (%2F)";
  case TargetError::Backslash:
    return "the path holds a backslash";
  case TargetError::EncodedNul:
    return "the path holds an encoded NUL (%00)";
  case TargetError::DotSegmentParams:
    return "the path holds a dot segment with parameters (';')";
  case TargetError::AboveRoot:
    return "the path climbs above the root ('..')";
  }
  return "bad request target";
}

std::string Target::originForm() const {
  if (!has_query) return path;
  std::string out;
  out.reserve(path.size() + 1 + query.size());
  out += path;
  out += '?';
  out += query;
  return out;
}

TargetResult normalizeTarget(std::string_view target) {
  TargetResult result;
  Target& out = result.target;
  if (target.find('#') != std::string_view::npos) return {TargetError::Fragment, {}};
  std::string_view rest = target;
  if (rest.empty() || rest.front() != '/') {
    const std::size_t colon = rest.find(':');
    if (colon == std::string_view::npos || !isScheme(rest.substr(0, colon))) {
      return {TargetError::NotAbsolute, {}};
    }
    const std::string_view scheme = rest.substr(0, colon);
    if (!equalsIgnoreCase(scheme, "http") && !equalsIgnoreCase(scheme, "https") &&
        !equalsIgnoreCase(scheme, "ws") && !equalsIgnoreCase(scheme, "wss")) {
      return {TargetError::UnsupportedScheme, {}};
    }
    rest.remove_prefix(colon + 1);
    // These schemes require an authority (RFC 9110 section 4.2).
    if (!rest.starts_with("//")) return {TargetError::BadAuthority, {}};
    rest.remove_prefix(2);
    const std::size_t end = rest.find_first_of("/?");
    const std::string_view authority = rest.substr(0, end);
    if (const TargetError error = checkAuthority(authority); error != TargetError::None) {
      return {error, {}};
    }
    out.authority.assign(authority);
    out.absolute_form = true;
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  }
  const std::size_t question = rest.find('?');
  std::string_view raw_path = rest.substr(0, question);
  if (question != std::string_view::npos) {
    out.has_query = true;
    out.query.assign(rest.substr(question + 1));
  }
  if (raw_path.empty()) raw_path = "/"; // absolute-form without a path (RFC 9112 section 3.2.2)
  std::string decoded;
  if (const TargetError error = decodePath(raw_path, decoded); error != TargetError::None) {
    return {error, {}};
  }
  if (const TargetError error = removeDotSegments(decoded, out.path); error != TargetError::None) {
    return {error, {}};
  }
  return result;
}

std::string decodeQueryComponent(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hexValue(text[i + 1]) >= 0 &&
               hexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(hexValue(text[i + 1]) * 16 + hexValue(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

} // namespace wsgate::http
