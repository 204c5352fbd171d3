#pragma once

// Parsers for the scalar value syntaxes of the configuration file: durations, sizes,
// addresses, backends and hash keys. They see only text (no TOML), so they are usable
// and testable on their own; the loader turns their error strings into ConfigErrors.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace wsgate::config {

// A listen or backend address as written, not resolved. `host` never carries the
// brackets of an IPv6 literal: "[::1]:8080" gives host "::1"; a host contains ':'
// exactly when it is an IPv6 literal.
struct Address {
  std::string host;
  uint16_t port = 0;

  friend bool operator==(const Address&, const Address&) = default;
};

// One backend of a pool. `address.port` is never 0.
struct Backend {
  bool tls = false; // "wss://": TLS to the backend.
  Address address;
  std::string original; // the string as written in the file, for logs
  // From the table form { address, weight, max_connections }; a string has weight 1.
  uint32_t weight = 1;          // 1 to 1000
  uint64_t max_connections = 0; // live sessions at most; 0 = the pool's limit

  friend bool operator==(const Backend&, const Backend&) = default;
};

// Where consistent_hash takes its key from.
enum class HashKeySource { Ip, Header, Cookie, Query, Path };

// `name` is empty exactly when `source` is Ip or Path. Header names are stored lower-case
// (HTTP header names are case-insensitive); cookie and query names keep their case.
struct HashKey {
  HashKeySource source = HashKeySource::Ip;
  std::string name;

  friend bool operator==(const HashKey&, const HashKey&) = default;
};

// The result of parsing one value: the value, or the reason the text is not one.
// Exactly one of `value` and `error` is set.
template <typename T> struct Parsed {
  std::optional<T> value;
  std::string error;

  static Parsed success(T v) { return Parsed{std::move(v), {}}; }
  static Parsed failure(std::string why) { return Parsed{std::nullopt, std::move(why)}; }
  explicit operator bool() const { return value.has_value(); }
};

// The longest duration accepted anywhere (365 days), so that adding any configured
// duration to a steady_clock time point cannot overflow.
inline constexpr std::chrono::milliseconds kMaxDuration = std::chrono::hours(24 * 365);

// "250ms", "30s", "5m", "1h" and combinations from the largest unit to the smallest,
// each unit at most once ("1h30m", "1m30s", "2s500ms"). "0" alone means zero. No sign,
// no spaces, no fractions, at most kMaxDuration.
Parsed<std::chrono::milliseconds> parseDuration(std::string_view text);

// A byte count written as a string: "512", "512B", "64KiB", "1MiB", "1GiB", "1TiB"
// (powers of 1024) or "64KB"/"64kB", "1MB", "1GB", "1TB" (powers of 1000). One space
// between the number and the unit is allowed. No sign, no fractions, no overflow.
Parsed<uint64_t> parseSize(std::string_view text);

// Whether port 0 ("any free port", for listeners in tests) is acceptable.
enum class PortRule { AllowZero, NonZero };

// "host:port", "0.0.0.0:8080", "[::1]:8080", "[::]:443", "localhost:9001". The host is
// an IPv4 literal, an IPv6 literal in brackets, or a DNS name; the port is decimal.
Parsed<Address> parseAddress(std::string_view text, PortRule rule);

// "127.0.0.1:9001" or "ws://host:port" (plain), "wss://host:port" (TLS). With a scheme
// the port may be omitted (80 for ws, 443 for wss). No path, query or user info.
Parsed<Backend> parseBackend(std::string_view text);

// "ip", "header:NAME", "cookie:NAME" or "query:NAME".
Parsed<HashKey> parseHashKey(std::string_view text);

// A route host: "*" (any), an exact name ("chat.example.com") or "*.suffix"
// ("*.example.com", matching any name that ends in ".example.com"). The result is
// lower-case, since host names are compared case-insensitively.
Parsed<std::string> parseHostPattern(std::string_view text);

// An allowed Origin: "*.example.com" (any origin whose host ends in ".example.com") or an
// exact origin ("https://app.example.com", "http://localhost:3000"). Lower-cased.
Parsed<std::string> parseOriginPattern(std::string_view text);

// Whether an endpoint may send this close code: 1000-1003, 1007-1014 and 3000-4999.
// 1004-1006 and 1015 are reserved and must never appear on the wire.
bool isSendableCloseCode(int64_t code);

// "[::1]:8080" / "127.0.0.1:9001": the inverse of parseAddress.
std::string formatAddress(const Address& address);

// The canonical form accepted by parseDuration: "0s", "250ms", "1m30s", "2h".
std::string formatDuration(std::chrono::milliseconds duration);

} // namespace wsgate::config
