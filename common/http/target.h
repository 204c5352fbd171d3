#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wsgate::http {

// Why a request target was refused. Every one is answered with 400.
enum class TargetError : uint8_t {
  None,
  NotAbsolute,       // neither "/path" (origin-form) nor "scheme://authority..." (absolute-form)
  UnsupportedScheme, // absolute-form with a scheme other than http, https, ws, wss
  BadAuthority,      // absolute-form with an empty or malformed host[:port]
  UserInfo,          // absolute-form with "user@" in the authority
  Fragment,          // a '#' anywhere in the target
  BadPercent,        // '%' not followed by two hex digits
  EncodedSlash,      // "%2F" in the path
  Backslash,         // '\' or "%5C" in the path
  EncodedNul,        // "%00" in the path
  DotSegmentParams,  // "..;x" or ".;x": a dot segment with parameters
  AboveRoot,         // ".." climbing above "/"
};

// A short static reason for the 400 body ("the path climbs above the root").
const char* reasonFor(TargetError error);

// A request target split and normalised. `path` always starts with '/'.
struct Target {
  std::string path;  // normalised, see normalizeTarget()
  std::string query; // after the first '?', byte for byte as sent; empty without one
  bool has_query = false;
  std::string authority; // absolute-form only: host[:port] as sent; empty for origin-form
  bool absolute_form = false;

  // The origin-form target for the backend: path, then '?' and the query when there was one.
  std::string originForm() const;
};

struct TargetResult {
  TargetError error = TargetError::None;
  Target target; // meaningful only when error is None
};

// Parses a request target in origin-form ("/a/b?q") or absolute-form ("http://host:port/a?q",
// schemes http, https, ws, wss, compared case-insensitively; RFC 9112 section 3.2.2) and
// normalises its path:
//   - percent-encoded unreserved characters (RFC 3986 section 2.3: ALPHA DIGIT - . _ ~) are
//     decoded, so "%2e%2e" is "..", and the hex digits of the other escapes are upper-cased;
//   - empty segments are dropped ("//a///b" is "/a/b"), a final '/' is kept;
//   - "." and ".." segments are removed (RFC 3986 section 5.2.4).
// It refuses what would let the path mean something else to the backend than to wsgate:
// "%2F", a backslash (raw or "%5C"), "%00", '#', a malformed escape, a dot segment with ';'
// parameters, and a ".." that climbs above the root (RFC 3986 would clamp it; wsgate refuses).
// The query is kept as sent. The result is stable: normalising a normalised path changes
// nothing.
TargetResult normalizeTarget(std::string_view target);

// Decodes one component of a query string (application/x-www-form-urlencoded): %XX escapes and
// '+' for a space; a '%' not followed by two hex digits stays as it is.
std::string decodeQueryComponent(std::string_view text);

} // namespace wsgate::http
