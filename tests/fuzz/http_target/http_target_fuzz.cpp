// Fuzzes normalizeTarget(). Beyond "no crash", it checks what routing relies on: an accepted
// path starts with '/', holds no empty, "." or ".." segment, no decodable escape of an
// unreserved character and nothing the normaliser refuses; normalising the result again gives
// the same target; the query is a byte-for-byte suffix of the input.
#include "common/http/target.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using wsgate::http::normalizeTarget;
using wsgate::http::TargetError;
using wsgate::http::TargetResult;

void check(bool ok) {
  if (!ok) std::abort();
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1; // lower-case hex never survives normalisation
}

bool isUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

void checkPath(std::string_view path) {
  check(!path.empty() && path.front() == '/');
  check(path.find('?') == std::string_view::npos);
  check(path.find('#') == std::string_view::npos);
  check(path.find('\\') == std::string_view::npos);
  check(path.find("//") == std::string_view::npos);
  std::string_view rest = path.substr(1);
  while (!rest.empty()) {
    const std::size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    check(segment != "." && segment != "..");
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') continue;
    check(i + 2 < path.size());
    const int hi = hexValue(path[i + 1]);
    const int lo = hexValue(path[i + 2]);
    check(hi >= 0 && lo >= 0);
    const char decoded = static_cast<char>(hi * 16 + lo);
    check(!isUnreserved(decoded) && decoded != '/' && decoded != '\\' && decoded != '\0');
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const TargetResult result = normalizeTarget(input);
  if (result.error != TargetError::None) {
    check(wsgate::http::reasonFor(result.error)[0] != '\0');
    return 0;
  }
  checkPath(result.target.path);
  if (result.target.has_query) {
    const std::string suffix = "?" + result.target.query;
    check(input.size() >= suffix.size() && input.substr(input.size() - suffix.size()) == suffix);
  } else {
    check(result.target.query.empty());
  }
  const std::string origin = result.target.originForm();
  const TargetResult again = normalizeTarget(origin);
  check(again.error == TargetError::None);
  check(again.target.originForm() == origin);
  check(!again.target.absolute_form);
  return 0;
}
