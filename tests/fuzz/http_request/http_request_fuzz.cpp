// Fuzzes the request and response head parsers. Beyond "no crash", it checks the properties the
// proxy relies on: the outcome does not depend on how the input is split, a finished head never
// exceeds the limits, every stored header name is a token and every value is free of control
// characters, and `consumed` never runs past the input.
#include "common/http/error_response.h"
#include "common/http/parser.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using wsgate::http::Header;
using wsgate::http::HeaderList;
using wsgate::http::HeadError;
using wsgate::http::Limits;
using wsgate::http::ParseResult;
using wsgate::http::ParseStatus;
using wsgate::http::Request;
using wsgate::http::RequestParser;
using wsgate::http::Response;
using wsgate::http::ResponseParser;

void check(bool ok) {
  if (!ok) std::abort();
}

struct Summary {
  ParseStatus status = ParseStatus::NeedMore;
  std::size_t head = 0;
  HeadError error = HeadError::None;
  int http_status = 0;
  std::string start[3];
  int numbers[3] = {0, 0, 0};
  std::vector<std::pair<std::string, std::string>> headers;
  bool upgrade = false;

  bool operator==(const Summary&) const = default;
};

void checkHeaders(const HeaderList& headers, const Limits& limits) {
  check(headers.size() <= limits.max_headers);
  for (const Header& h : headers) {
    check(wsgate::http::isToken(h.name));
    for (const char c : h.value)
      check(wsgate::http::isFieldValueChar(static_cast<uint8_t>(c)));
    check(h.name.size() + h.value.size() <= limits.max_header_line);
  }
}

void describe(const Request& req, Summary& s) {
  s.start[0] = req.method;
  s.start[1] = req.target;
  s.numbers[0] = req.version_major;
  s.numbers[1] = req.version_minor;
  s.upgrade = req.upgrade;
}

void describe(const Response& res, Summary& s) {
  s.start[2] = res.reason;
  s.numbers[0] = res.version_major;
  s.numbers[1] = res.version_minor;
  s.numbers[2] = res.status;
  s.upgrade = res.upgrade;
}

// Feeds `input` in chunks of `step` bytes (0: all at once).
template <typename Parser>
Summary run(std::span<const uint8_t> input, std::size_t step, const Limits& limits) {
  Parser parser(limits);
  Summary s;
  std::size_t offset = 0;
  while (true) {
    const std::size_t n = step == 0 ? input.size() - offset : std::min(step, input.size() - offset);
    const ParseResult r = parser.feed(input.subspan(offset, n));
    s.status = r.status;
    check(r.consumed <= n);
    if (r.status == ParseStatus::NeedMore) {
      check(r.consumed == n);
      offset += n;
      if (offset == input.size()) break;
      continue;
    }
    // Done: the head's end. Error: where the error was found, the same for every split.
    offset += r.consumed;
    // Feeding on after the end consumes nothing.
    const ParseResult again = parser.feed(input.subspan(offset));
    check(again.status == r.status && again.consumed == 0);
    break;
  }
  s.head = offset;
  s.error = parser.error().code;
  s.http_status = parser.error().http_status;
  check((s.status == ParseStatus::Error) == (s.error != HeadError::None));
  check(parser.error().reason != nullptr);
  if (s.status == ParseStatus::Done) {
    check(parser.headBytes() == s.head);
    check(s.head <= limits.max_header_bytes);
    checkHeaders(parser.message().headers, limits);
  }
  describe(parser.message(), s);
  for (const Header& h : parser.message().headers)
    s.headers.emplace_back(h.name, h.value);
  return s;
}

template <typename Parser> void checkSplits(std::span<const uint8_t> input, const Limits& limits) {
  const Summary whole = run<Parser>(input, 0, limits);
  check(run<Parser>(input, 1, limits) == whole);
  check(run<Parser>(input, 3, limits) == whole);
  check(run<Parser>(input, 64, limits) == whole);
}

// A response wsgate builds must parse back to what went in.
void checkErrorResponse(std::span<const uint8_t> input) {
  if (input.size() < 2) return;
  const int status = 100 + (input[0] * 256 + input[1]) % 500;
  const std::string_view rest(reinterpret_cast<const char*>(input.data()) + 2, input.size() - 2);
  const std::size_t cut = rest.size() / 2;
  const Header extra[] = {{std::string(rest.substr(0, cut)), std::string(rest.substr(cut))}};
  const std::string out = wsgate::http::buildErrorResponse(status, rest, extra);
  ResponseParser parser(Limits{.max_header_line = SIZE_MAX, .max_header_bytes = SIZE_MAX});
  const ParseResult r = parser.feed({reinterpret_cast<const uint8_t*>(out.data()), out.size()});
  check(r.status == ParseStatus::Done);
  check(std::string_view(out).substr(r.consumed) == rest);
  check(parser.response().status == status);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  const Limits defaults;
  const Limits tight{.max_headers = 4, .max_header_line = 48, .max_header_bytes = 256};
  checkSplits<RequestParser>(input, defaults);
  checkSplits<RequestParser>(input, tight);
  checkSplits<ResponseParser>(input, defaults);
  checkSplits<ResponseParser>(input, tight);
  checkErrorResponse(input);
  return 0;
}
