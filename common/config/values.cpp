#include "common/config/values.h"

#include <arpa/inet.h>
#include <array>
#include <cstddef>
#include <limits>

namespace wsgate::config {
namespace {

using std::chrono::milliseconds;

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

char toLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowerCase(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    c = toLower(c);
  return out;
}

bool startsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (toLower(text[i]) != prefix[i]) return false;
  }
  return true;
}

std::string quoted(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

// RFC 9110 tchar: the characters of a header or cookie name.
bool isTokenChar(char c) {
  if (isAlpha(c) || isDigit(c)) return true;
  constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return kExtra.find(c) != std::string_view::npos;
}

bool isToken(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!isTokenChar(c)) return false;
  }
  return true;
}

// Reads the decimal digits at the front of `text` into `out`, consuming them. Returns
// false when there are none or the number does not fit in 64 bits.
bool takeNumber(std::string_view& text, uint64_t& out, bool& overflow) {
  std::size_t i = 0;
  uint64_t n = 0;
  overflow = false;
  while (i < text.size() && isDigit(text[i])) {
    const auto digit = static_cast<uint64_t>(text[i] - '0');
    if (n > (std::numeric_limits<uint64_t>::max() - digit) / 10) overflow = true;
    if (!overflow) n = n * 10 + digit;
    ++i;
  }
  if (i == 0 || overflow) return false;
  text.remove_prefix(i);
  out = n;
  return true;
}

bool isIpv4Literal(std::string_view text) {
  std::array<unsigned char, 4> bytes{};
  const std::string copy(text);
  return inet_pton(AF_INET, copy.c_str(), bytes.data()) == 1;
}

bool isIpv6Literal(std::string_view text) {
  std::array<unsigned char, 16> bytes{};
  const std::string copy(text);
  return inet_pton(AF_INET6, copy.c_str(), bytes.data()) == 1;
}

bool looksNumeric(std::string_view text) {
  for (char c : text) {
    if (!isDigit(c) && c != '.') return false;
  }
  return true;
}

// A DNS name: dot-separated labels of letters, digits, '-' and '_', 1-63 characters
// each, 253 in all. Underscores are tolerated because internal names use them.
bool isDnsName(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  std::size_t label = 0;
  for (char c : text) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!isAlpha(c) && !isDigit(c) && c != '-' && c != '_') return false;
    if (++label > 63) return false;
  }
  return label > 0;
}

// An unbracketed host: an IPv4 literal or a DNS name. Returns an error or "".
std::string checkHost(std::string_view host) {
  if (looksNumeric(host)) {
    return isIpv4Literal(host) ? "" : quoted(host) + " is not a valid IPv4 address";
  }
  if (!isDnsName(host)) return quoted(host) + " is not a valid host name";
  return "";
}

Parsed<uint16_t> parsePort(std::string_view text, PortRule rule) {
  if (text.empty()) return Parsed<uint16_t>::failure("missing port after ':'");
  uint64_t n = 0;
  bool overflow = false;
  std::string_view rest = text;
  if (text.size() > 5 || !takeNumber(rest, n, overflow) || !rest.empty() || n > 65535) {
    return Parsed<uint16_t>::failure("port " + quoted(text) + " is not a number from " +
                                     (rule == PortRule::AllowZero ? "0" : "1") + " to 65535");
  }
  if (n == 0 && rule == PortRule::NonZero) {
    return Parsed<uint16_t>::failure("port 0 is not allowed here");
  }
  return Parsed<uint16_t>::success(static_cast<uint16_t>(n));
}

// parseAddress without the "invalid address" prefix on its errors.
Parsed<Address> splitAddress(std::string_view text, PortRule rule) {
  using Result = Parsed<Address>;
  if (text.empty()) return Result::failure("empty; expected host:port");
  Address address;
  std::string_view portText;
  if (text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return Result::failure("missing ']' after the IPv6 address");
    }
    const std::string_view host = text.substr(1, close - 1);
    if (!isIpv6Literal(host)) return Result::failure(quoted(host) + " is not a valid IPv6 address");
    const std::string_view after = text.substr(close + 1);
    if (after.empty() || after.front() != ':') {
      return Result::failure("expected \":port\" after ']'");
    }
    address.host = std::string(host);
    portText = after.substr(1);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Result::failure("missing port; expected host:port like \"127.0.0.1:8080\"");
    }
    const std::string_view host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) {
      return Result::failure("an IPv6 address needs brackets, like \"[::1]:8080\"");
    }
    if (host.empty()) {
      return Result::failure(
          "missing host; use \"0.0.0.0:PORT\" (all IPv4) or \"[::]:PORT\" (all IPv6)");
    }
    if (std::string why = checkHost(host); !why.empty()) return Result::failure(std::move(why));
    address.host = std::string(host);
    portText = text.substr(colon + 1);
  }
  Parsed<uint16_t> port = parsePort(portText, rule);
  if (!port) return Result::failure(std::move(port.error));
  address.port = *port.value;
  return Result::success(std::move(address));
}

struct DurationUnit {
  std::string_view name;
  int64_t millis;
};

// Largest first: the order in which units must appear in a combined duration.
constexpr std::array<DurationUnit, 4> kDurationUnits{{
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};

struct SizeUnit {
  std::string_view name;
  uint64_t bytes;
};

constexpr std::array<SizeUnit, 10> kSizeUnits{{
    {"B", 1},
    {"KiB", 1ULL << 10},
    {"MiB", 1ULL << 20},
    {"GiB", 1ULL << 30},
    {"TiB", 1ULL << 40},
    {"KB", 1'000},
    {"kB", 1'000},
    {"MB", 1'000'000},
    {"GB", 1'000'000'000},
    {"TB", 1'000'000'000'000},
}};

} // namespace

Parsed<milliseconds> parseDuration(std::string_view text) {
  using Result = Parsed<milliseconds>;
  const std::string shown = quoted(text);
  if (text.empty())
    return Result::failure("empty duration; expected a number with a unit like \"30s\"");
  if (text == "0") return Result::success(milliseconds(0));
  if (text.front() == '-') return Result::failure("a duration cannot be negative: " + shown);
  const int64_t max = kMaxDuration.count();
  int64_t total = 0;
  std::size_t nextUnit = 0; // index into kDurationUnits: units must go largest first
  std::string_view rest = text;
  while (!rest.empty()) {
    uint64_t n = 0;
    bool overflow = false;
    if (!takeNumber(rest, n, overflow)) {
      if (overflow) return Result::failure("duration " + shown + " is too large (max 8760h)");
      return Result::failure("invalid duration " + shown +
                             "; expected a number with a unit like \"250ms\", \"30s\", \"5m\", "
                             "\"1h\" or \"1m30s\"");
    }
    std::size_t unitLength = 0;
    while (unitLength < rest.size() && isAlpha(rest[unitLength]))
      ++unitLength;
    const std::string_view unit = rest.substr(0, unitLength);
    rest.remove_prefix(unitLength);
    if (!rest.empty() && rest.front() == '.') {
      return Result::failure("invalid duration " + shown +
                             ": fractions are not supported; use a smaller unit like \"1500ms\"");
    }
    if (unit.empty()) {
      return Result::failure("duration " + shown + " needs a unit: ms, s, m or h (like \"30s\")");
    }
    std::size_t index = 0;
    while (index < kDurationUnits.size() && kDurationUnits[index].name != unit)
      ++index;
    if (index == kDurationUnits.size()) {
      return Result::failure("unknown unit " + quoted(unit) + " in duration " + shown +
                             "; use ms, s, m or h");
    }
    if (index < nextUnit) {
      return Result::failure("invalid duration " + shown +
                             ": units must go from largest to smallest, each once, like \"1m30s\"");
    }
    nextUnit = index + 1;
    const int64_t factor = kDurationUnits[index].millis;
    if (n > static_cast<uint64_t>(max / factor) || total > max - static_cast<int64_t>(n) * factor) {
      return Result::failure("duration " + shown + " is too large (max 8760h)");
    }
    total += static_cast<int64_t>(n) * factor;
  }
  return Result::success(milliseconds(total));
}

Parsed<uint64_t> parseSize(std::string_view text) {
  using Result = Parsed<uint64_t>;
  const std::string shown = quoted(text);
  const std::string expected = "; expected bytes or a number with a unit like \"64KiB\", "
                               "\"1MiB\", \"1GiB\" (or KB, MB, GB for powers of 1000)";
  if (text.empty()) return Result::failure("empty size" + expected);
  if (text.front() == '-') return Result::failure("a size cannot be negative: " + shown);
  std::string_view rest = text;
  uint64_t n = 0;
  bool overflow = false;
  if (!takeNumber(rest, n, overflow)) {
    if (overflow) return Result::failure("size " + shown + " is too large");
    return Result::failure("invalid size " + shown + expected);
  }
  if (!rest.empty() && rest.front() == '.') {
    return Result::failure("invalid size " + shown +
                           ": fractions are not supported; use a smaller unit like \"1536KiB\"");
  }
  if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (rest.empty()) {
    if (text.back() == ' ') return Result::failure("invalid size " + shown + expected);
    return Result::success(n);
  }
  for (const SizeUnit& unit : kSizeUnits) {
    if (unit.name != rest) continue;
    if (n > std::numeric_limits<uint64_t>::max() / unit.bytes) {
      return Result::failure("size " + shown + " is too large");
    }
    return Result::success(n * unit.bytes);
  }
  return Result::failure("unknown unit " + quoted(rest) + " in size " + shown +
                         "; use B, KiB, MiB, GiB, TiB (powers of 1024) or KB, MB, GB, TB "
                         "(powers of 1000)");
}

Parsed<Address> parseAddress(std::string_view text, PortRule rule) {
  Parsed<Address> address = splitAddress(text, rule);
  if (!address) address.error = "invalid address " + quoted(text) + ": " + address.error;
  return address;
}

Parsed<Backend> parseBackend(std::string_view text) {
  using Result = Parsed<Backend>;
  const std::string shown = quoted(text);
  Backend backend;
  backend.original = std::string(text);
  std::string_view rest = text;
  bool hasScheme = false;
  if (startsWithNoCase(rest, "wss://")) {
    backend.tls = true;
    hasScheme = true;
    rest.remove_prefix(6);
  } else if (startsWithNoCase(rest, "ws://")) {
    hasScheme = true;
    rest.remove_prefix(5);
  } else if (const std::size_t sep = rest.find("://"); sep != std::string_view::npos) {
    return Result::failure("unsupported scheme " + quoted(rest.substr(0, sep)) + " in backend " +
                           shown + "; use \"ws://\", \"wss://\" or plain host:port");
  }
  if (rest.find_first_of("/?#@") != std::string_view::npos) {
    return Result::failure("invalid backend " + shown +
                           ": only host and port are allowed (the client's path is forwarded)");
  }
  std::string withPort(rest);
  if (hasScheme) {
    const std::size_t close = rest.rfind(']');
    const std::size_t colon = rest.rfind(':');
    const bool portGiven =
        colon != std::string_view::npos && (close == std::string_view::npos || colon > close);
    if (!portGiven) withPort += backend.tls ? ":443" : ":80";
  }
  Parsed<Address> address = splitAddress(withPort, PortRule::NonZero);
  if (!address) return Result::failure("invalid backend " + shown + ": " + address.error);
  backend.address = std::move(*address.value);
  return Result::success(std::move(backend));
}

Parsed<HashKey> parseHashKey(std::string_view text) {
  using Result = Parsed<HashKey>;
  const std::string expected =
      "; expected \"ip\", \"path\", \"header:NAME\", \"cookie:NAME\" or \"query:NAME\"";
  if (text == "ip") return Result::success(HashKey{});
  if (text == "path") return Result::success(HashKey{HashKeySource::Path, {}});
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return Result::failure("invalid hash_key " + quoted(text) + expected);
  }
  const std::string_view kind = text.substr(0, colon);
  const std::string_view name = text.substr(colon + 1);
  if (name.empty()) return Result::failure("hash_key " + quoted(text) + " needs a name after ':'");
  if (kind == "header" || kind == "cookie") {
    if (!isToken(name)) {
      return Result::failure("invalid " + std::string(kind) + " name " + quoted(name) +
                             " in hash_key");
    }
    if (kind == "header") return Result::success(HashKey{HashKeySource::Header, lowerCase(name)});
    return Result::success(HashKey{HashKeySource::Cookie, std::string(name)});
  }
  if (kind == "query") {
    for (char c : name) {
      const auto byte = static_cast<unsigned char>(c);
      if (byte <= 0x20 || byte == 0x7f || c == '&' || c == '=' || c == '#') {
        return Result::failure("invalid query parameter name " + quoted(name) + " in hash_key");
      }
    }
    return Result::success(HashKey{HashKeySource::Query, std::string(name)});
  }
  return Result::failure("invalid hash_key " + quoted(text) + expected);
}

Parsed<std::string> parseHostPattern(std::string_view text) {
  using Result = Parsed<std::string>;
  if (text == "*") return Result::success("*");
  const std::string shown = quoted(text);
  if (text.empty()) return Result::failure("empty host; use \"*\" to match any host");
  std::string_view name = text;
  const bool wildcard = name.size() > 2 && name.substr(0, 2) == "*.";
  if (wildcard) name.remove_prefix(2);
  if (name.find('*') != std::string_view::npos) {
    return Result::failure("invalid host " + shown +
                           ": a wildcard is only allowed as \"*\" or a leading \"*.\"");
  }
  if (name.front() == '[' && name.back() == ']' && name.size() > 2 && name.size() == text.size()) {
    if (isIpv6Literal(name.substr(1, name.size() - 2))) return Result::success(lowerCase(text));
    return Result::failure("invalid host " + shown + ": not a valid IPv6 address");
  }
  if (name.find(':') != std::string_view::npos) {
    return Result::failure("invalid host " + shown + ": a route host has no port");
  }
  if (const std::string why = checkHost(name); !why.empty()) {
    return Result::failure("invalid host " + shown + ": " + why);
  }
  if (wildcard && looksNumeric(name)) {
    return Result::failure("invalid host " + shown + ": a wildcard needs a domain name");
  }
  return Result::success(lowerCase(text));
}

Parsed<std::string> parseOriginPattern(std::string_view text) {
  using Result = Parsed<std::string>;
  const std::string shown = quoted(text);
  if (text == "*") {
    return Result::failure("\"*\" is not an origin; an empty allowed_origins allows any origin");
  }
  if (text.size() > 2 && text.substr(0, 2) == "*.") {
    const std::string_view suffix = text.substr(2);
    if (!checkHost(suffix).empty() || looksNumeric(suffix)) {
      return Result::failure("invalid origin pattern " + shown);
    }
    return Result::success(lowerCase(text));
  }
  const std::size_t sep = text.find("://");
  const std::string expected =
      "; expected an origin like \"https://app.example.com\" or a pattern like \"*.example.com\"";
  if (sep == std::string_view::npos || sep == 0) {
    return Result::failure("invalid origin " + shown + expected);
  }
  for (char c : text.substr(0, sep)) {
    if (!isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.') {
      return Result::failure("invalid origin " + shown + expected);
    }
  }
  const std::string_view hostPort = text.substr(sep + 3);
  if (hostPort.find_first_of("/?#@") != std::string_view::npos) {
    return Result::failure("invalid origin " + shown + ": an origin has no path" + expected);
  }
  const bool bracketed = !hostPort.empty() && hostPort.front() == '[';
  const std::size_t close = hostPort.rfind(']');
  const std::size_t colon = hostPort.rfind(':');
  const bool hasPort = colon != std::string_view::npos &&
                       (!bracketed || (close != std::string_view::npos && colon > close));
  if (hasPort) {
    if (!parseAddress(hostPort, PortRule::NonZero)) {
      return Result::failure("invalid origin " + shown + expected);
    }
  } else if (bracketed) {
    if (close != hostPort.size() - 1 || !isIpv6Literal(hostPort.substr(1, hostPort.size() - 2))) {
      return Result::failure("invalid origin " + shown + expected);
    }
  } else if (hostPort.empty() || !checkHost(hostPort).empty()) {
    return Result::failure("invalid origin " + shown + expected);
  }
  return Result::success(lowerCase(text));
}

bool isSendableCloseCode(int64_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

std::string formatAddress(const Address& address) {
  const bool ipv6 = address.host.find(':') != std::string::npos;
  std::string out = ipv6 ? "[" + address.host + "]" : address.host;
  return out + ":" + std::to_string(address.port);
}

std::string formatDuration(milliseconds duration) {
  int64_t left = duration.count();
  if (left < 0) return std::to_string(left) + "ms";
  if (left == 0) return "0s";
  std::string out;
  for (const DurationUnit& unit : kDurationUnits) {
    const int64_t n = left / unit.millis;
    left %= unit.millis;
    if (n != 0) out += std::to_string(n) + std::string(unit.name);
  }
  return out;
}

} // namespace wsgate::config
