#include "common/http/parser.h"

#include <cstdint>
#include <gtest/gtest.h>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::http {
namespace {

constexpr std::string_view kUpgrade = "GET /chat?room=1 HTTP/1.1\r\n"
                                      "Host: example.com:8080\r\n"
                                      "Upgrade: websocket\r\n"
                                      "Connection: keep-alive, Upgrade\r\n"
                                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                      "Sec-WebSocket-Version: 13\r\n"
                                      "Origin: https://example.com\r\n"
                                      "\r\n";
// A masked text frame "Hi" and the first bytes of a second frame.
constexpr std::string_view kFrames = "\x81\x82\x01\x02\x03\x04\x49\x6b\x81";

std::span<const uint8_t> bytesOf(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Everything a parse produced, comparable across splits.
struct Outcome {
  ParseStatus status = ParseStatus::NeedMore;
  std::size_t head = 0; // bytes of the input consumed as head (all of it unless Done)
  HeadError error = HeadError::None;
  int http_status = 0;
  std::string reason;
  std::string method;
  std::string target;
  int major = -1;
  int minor = -1;
  std::vector<std::pair<std::string, std::string>> headers;
  bool upgrade = false;
  bool has_body = false;

  bool operator==(const Outcome&) const = default;
};

void PrintTo(const Outcome& o, std::ostream* os) {
  *os << "{status " << static_cast<int>(o.status) << ", head " << o.head << ", error "
      << static_cast<int>(o.error) << " (" << o.reason << "), headers " << o.headers.size() << "}";
}

// Feeds `input` in chunks that end at each offset of `cuts`, then the rest.
Outcome parseSplit(std::string_view input, const std::vector<std::size_t>& cuts,
                   Limits limits = {}) {
  RequestParser parser(limits);
  Outcome out;
  std::size_t offset = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(input.size());
  for (const std::size_t end : ends) {
    const ParseResult r = parser.feed(bytesOf(input.substr(offset, end - offset)));
    out.status = r.status;
    if (r.status == ParseStatus::NeedMore) {
      EXPECT_EQ(r.consumed, end - offset);
      offset = end;
      continue;
    }
    offset += r.consumed; // Done: the head's end; Error: where the error was found
    break;
  }
  out.head = offset;
  if (out.status == ParseStatus::Done) {
    EXPECT_EQ(parser.headBytes(), out.head);
  }
  out.error = parser.error().code;
  out.http_status = parser.error().http_status;
  out.reason = parser.error().reason;
  const Request& req = parser.request();
  out.method = req.method;
  out.target = req.target;
  out.major = req.version_major;
  out.minor = req.version_minor;
  for (const Header& h : req.headers)
    out.headers.emplace_back(h.name, h.value);
  out.upgrade = req.upgrade;
  out.has_body = req.has_body;
  return out;
}

Outcome parseWhole(std::string_view input, Limits limits = {}) {
  return parseSplit(input, {}, limits);
}

Outcome parseBytewise(std::string_view input, Limits limits = {}) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < input.size(); ++i)
    cuts.push_back(i);
  return parseSplit(input, cuts, limits);
}

// Whole, byte by byte, at every single split point and in chunks of 2..7 bytes: one outcome.
void expectSplitInvariant(std::string_view input, Limits limits = {}) {
  const Outcome whole = parseWhole(input, limits);
  EXPECT_EQ(parseBytewise(input, limits), whole) << "byte by byte";
  for (std::size_t i = 0; i <= input.size(); ++i) {
    EXPECT_EQ(parseSplit(input, {i}, limits), whole) << "split at " << i;
  }
  for (std::size_t step = 2; step <= 7; ++step) {
    std::vector<std::size_t> cuts;
    for (std::size_t i = step; i < input.size(); i += step)
      cuts.push_back(i);
    EXPECT_EQ(parseSplit(input, cuts, limits), whole) << "chunks of " << step;
  }
}

std::string withFrames(std::string_view head) {
  return std::string(head) + std::string(kFrames);
}

TEST(HttpRequestParser, ParsesUpgradeRequestWhole) {
  RequestParser parser;
  const ParseResult r = parser.feed(bytesOf(kUpgrade));
  ASSERT_EQ(r.status, ParseStatus::Done);
  EXPECT_EQ(r.consumed, kUpgrade.size());
  EXPECT_EQ(parser.status(), ParseStatus::Done);
  const Request& req = parser.request();
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.target, "/chat?room=1");
  EXPECT_EQ(req.version_major, 1);
  EXPECT_EQ(req.version_minor, 1);
  ASSERT_EQ(req.headers.size(), 6U);
  EXPECT_EQ(req.headers[0].name, "Host");
  EXPECT_EQ(req.headers[0].value, "example.com:8080");
  EXPECT_EQ(req.headers.get("Sec-WebSocket-Key"), "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_TRUE(req.headers.hasToken("Connection", "upgrade"));
  EXPECT_TRUE(req.upgrade);
  EXPECT_FALSE(req.has_body);
  EXPECT_EQ(parser.error().code, HeadError::None);
}

TEST(HttpRequestParser, SameResultForEverySplit) {
  const Outcome whole = parseWhole(kUpgrade);
  ASSERT_EQ(whole.status, ParseStatus::Done);
  EXPECT_EQ(whole.head, kUpgrade.size());
  expectSplitInvariant(kUpgrade);
  expectSplitInvariant(withFrames(kUpgrade));
}

TEST(HttpRequestParser, HandsBackFrameBytesUntouched) {
  const std::string input = withFrames(kUpgrade);
  RequestParser parser;
  const ParseResult r = parser.feed(bytesOf(input));
  ASSERT_EQ(r.status, ParseStatus::Done);
  ASSERT_EQ(r.consumed, kUpgrade.size());
  EXPECT_EQ(std::string_view(input).substr(r.consumed), kFrames);

  // Head split across feeds, frames in the chunk holding the final CRLF.
  RequestParser split;
  const std::size_t first = kUpgrade.size() - 3;
  ASSERT_EQ(split.feed(bytesOf(std::string_view(input).substr(0, first))).status,
            ParseStatus::NeedMore);
  const std::string_view rest = std::string_view(input).substr(first);
  const ParseResult r2 = split.feed(bytesOf(rest));
  ASSERT_EQ(r2.status, ParseStatus::Done);
  EXPECT_EQ(r2.consumed, 3U);
  EXPECT_EQ(rest.substr(r2.consumed), kFrames);
  for (std::size_t i = 0; i <= input.size(); ++i) {
    EXPECT_EQ(parseSplit(input, {i}).head, kUpgrade.size()) << "split at " << i;
  }
}

TEST(HttpRequestParser, FeedsAfterTheEndConsumeNothing) {
  RequestParser parser;
  ASSERT_EQ(parser.feed(bytesOf(kUpgrade)).status, ParseStatus::Done);
  const ParseResult again = parser.feed(bytesOf(kFrames));
  EXPECT_EQ(again.status, ParseStatus::Done);
  EXPECT_EQ(again.consumed, 0U);
  EXPECT_EQ(parser.headBytes(), kUpgrade.size());

  RequestParser bad;
  ASSERT_EQ(bad.feed(bytesOf("BAD\x01")).status, ParseStatus::Error);
  const ParseResult still = bad.feed(bytesOf(kUpgrade));
  EXPECT_EQ(still.status, ParseStatus::Error);
  EXPECT_EQ(still.consumed, 0U);
}

TEST(HttpRequestParser, EmptyFeedNeedsMore) {
  RequestParser parser;
  const ParseResult r = parser.feed({});
  EXPECT_EQ(r.status, ParseStatus::NeedMore);
  EXPECT_EQ(r.consumed, 0U);
  EXPECT_EQ(parser.feed(bytesOf(kUpgrade)).status, ParseStatus::Done);
}

TEST(HttpRequestParser, HttpOneZeroParses) {
  const Outcome out = parseWhole("GET /old HTTP/1.0\r\nHost: a\r\n\r\n");
  ASSERT_EQ(out.status, ParseStatus::Done);
  EXPECT_EQ(out.major, 1);
  EXPECT_EQ(out.minor, 0);
  EXPECT_FALSE(out.upgrade);
}

TEST(HttpRequestParser, PlainRequestStopsAtEndOfHeaders) {
  const std::string head = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string input = head + "GET /next HTTP/1.1\r\n\r\n";
  const Outcome out = parseWhole(input);
  ASSERT_EQ(out.status, ParseStatus::Done);
  EXPECT_EQ(out.head, head.size());
  EXPECT_FALSE(out.upgrade);
  expectSplitInvariant(input);
}

TEST(HttpRequestParser, BodyIsLeftToTheCaller) {
  const std::string head = "POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\n";
  const Outcome out = parseWhole(head + "hello");
  ASSERT_EQ(out.status, ParseStatus::Done);
  EXPECT_EQ(out.head, head.size());
  EXPECT_TRUE(out.has_body);
  EXPECT_TRUE(parseWhole("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").has_body);
  EXPECT_FALSE(parseWhole("POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n").has_body);
}

TEST(HttpRequestParser, RepeatedHeadersStaySeparate) {
  RequestParser parser;
  ASSERT_EQ(parser
                .feed(bytesOf("GET / HTTP/1.1\r\n"
                              "Sec-WebSocket-Protocol: chat\r\n"
                              "Host: a\r\n"
                              "sec-websocket-protocol: superchat, v2\r\n"
                              "\r\n"))
                .status,
            ParseStatus::Done);
  const HeaderList& h = parser.request().headers;
  EXPECT_EQ(h.size(), 3U);
  EXPECT_EQ(h.count("SEC-WEBSOCKET-PROTOCOL"), 2U);
  EXPECT_EQ(h.get("Sec-WebSocket-Protocol"), "chat");
  EXPECT_EQ(h.getAll("sec-websocket-protocol"), "chat, superchat, v2");
  EXPECT_TRUE(h.hasToken("Sec-WebSocket-Protocol", "V2"));
  EXPECT_FALSE(h.getAll("Cookie").has_value());
}

TEST(HttpRequestParser, LookupIgnoresCase) {
  RequestParser parser;
  ASSERT_EQ(parser.feed(bytesOf(kUpgrade)).status, ParseStatus::Done);
  const HeaderList& h = parser.request().headers;
  EXPECT_EQ(h.get("upgrade"), "websocket");
  EXPECT_EQ(h.get("UPGRADE"), "websocket");
  EXPECT_EQ(h.get("sEc-wEbSoCkEt-VeRsIoN"), "13");
  EXPECT_TRUE(h.contains("ORIGIN"));
  EXPECT_FALSE(h.get("Upgrade2").has_value());
}

TEST(HttpRequestParser, ValuesAreTrimmedAndMayBeEmpty) {
  RequestParser parser;
  ASSERT_EQ(parser.feed(bytesOf("GET / HTTP/1.1\r\nA: \t x y \t\r\nB:\r\nC:   \r\n\r\n")).status,
            ParseStatus::Done);
  const HeaderList& h = parser.request().headers;
  EXPECT_EQ(h.get("A"), "x y");
  EXPECT_EQ(h.get("B"), "");
  EXPECT_EQ(h.get("C"), "");
  EXPECT_EQ(h.size(), 3U);
}

TEST(HttpRequestParser, LeadingEmptyLinesAreSkipped) {
  const Outcome out = parseWhole(std::string("\r\n\r\n") + std::string(kUpgrade));
  ASSERT_EQ(out.status, ParseStatus::Done);
  EXPECT_EQ(out.head, kUpgrade.size() + 4);
}

// ---- limits ----

std::string headWithHeaders(std::size_t n) {
  std::string s = "GET / HTTP/1.1\r\n";
  for (std::size_t i = 0; i < n; ++i)
    s += "X-H" + std::to_string(i) + ": v\r\n";
  return s;
}

void expectError(const Outcome& out, HeadError code, int status, std::string_view reason) {
  EXPECT_EQ(out.status, ParseStatus::Error);
  EXPECT_EQ(out.error, code);
  EXPECT_EQ(out.http_status, status);
  EXPECT_EQ(out.reason, reason);
}

TEST(HttpRequestParser, TooManyHeaders) {
  const Limits limits{.max_headers = 3};
  EXPECT_EQ(parseWhole(headWithHeaders(3) + "\r\n", limits).status, ParseStatus::Done);
  const std::string over = headWithHeaders(4) + "\r\n";
  expectError(parseWhole(over, limits), HeadError::TooManyHeaders, 431, "too many headers");
  expectSplitInvariant(over, limits);
  // Cut at the first byte of the fourth header, before the head ends.
  const std::string partial = headWithHeaders(3) + "X";
  expectError(parseWhole(partial, limits), HeadError::TooManyHeaders, 431, "too many headers");
  EXPECT_EQ(parseWhole(headWithHeaders(3), limits).status, ParseStatus::NeedMore);
  // What was complete before the error stays readable, for the access log.
  const Outcome out = parseBytewise(partial, limits);
  EXPECT_EQ(out.method, "GET");
  EXPECT_EQ(out.target, "/");
  // llhttp ends a header when the next line starts: the third one was not finished.
  EXPECT_EQ(out.headers.size(), 2U);
}

TEST(HttpRequestParser, PartsBeingReadAtAnErrorAreLeftEmpty) {
  // Whole or split, the unfinished target is not exposed.
  const std::string input = "GET /abc\x01"
                            "def HTTP/1.1\r\n\r\n";
  for (const Outcome& out : {parseWhole(input), parseBytewise(input)}) {
    EXPECT_EQ(out.status, ParseStatus::Error);
    EXPECT_EQ(out.method, "GET");
    EXPECT_EQ(out.target, "");
  }
}

TEST(HttpRequestParser, HeaderLineTooLong) {
  const Limits limits{.max_header_line = 40};
  const std::string fits = "GET / HTTP/1.1\r\nX-Long: " + std::string(40 - 8, 'a') + "\r\n\r\n";
  EXPECT_EQ(parseWhole(fits, limits).status, ParseStatus::Done);
  const std::string over = "GET / HTTP/1.1\r\nX-Long: " + std::string(40 - 7, 'a') + "\r\n\r\n";
  expectError(parseWhole(over, limits), HeadError::HeaderLineTooLong, 431, "header line too long");
  expectSplitInvariant(over, limits);
  // A value that never ends is cut at the 41st byte of its line.
  const std::string endless = "GET / HTTP/1.1\r\nX-Long: " + std::string(1000, 'a');
  RequestParser parser(limits);
  const ParseResult r = parser.feed(bytesOf(endless));
  EXPECT_EQ(r.status, ParseStatus::Error);
  EXPECT_EQ(r.consumed, std::string_view("GET / HTTP/1.1\r\n").size() + 40);
  EXPECT_EQ(parser.error().code, HeadError::HeaderLineTooLong);
}

TEST(HttpRequestParser, RequestLineTooLongIs414) {
  const Limits limits{.max_header_line = 64};
  const std::string over = "GET /" + std::string(100, 'p') + " HTTP/1.1\r\n\r\n";
  expectError(parseWhole(over, limits), HeadError::StartLineTooLong, 414, "request line too long");
  expectError(parseWhole(over.substr(0, 70), limits), HeadError::StartLineTooLong, 414,
              "request line too long");
}

TEST(HttpRequestParser, HeadersTooLarge) {
  const Limits limits{.max_header_bytes = 200};
  std::string exact = "GET / HTTP/1.1\r\nX-Pad: ";
  exact += std::string(200 - exact.size() - 4, 'z') + "\r\n\r\n";
  ASSERT_EQ(exact.size(), 200U);
  EXPECT_EQ(parseWhole(exact + std::string(kFrames), limits).status, ParseStatus::Done);
  EXPECT_EQ(parseWhole(exact + std::string(kFrames), limits).head, 200U);

  std::string over = "GET / HTTP/1.1\r\nX-Pad: ";
  over += std::string(201 - over.size() - 4, 'z') + "\r\n\r\n";
  expectError(parseWhole(over, limits), HeadError::HeadersTooLarge, 431, "headers too large");
  expectSplitInvariant(over, limits);
}

TEST(HttpRequestParser, SlowlorisIsCutAtTheLimit) {
  const Limits limits{.max_headers = 1000, .max_header_bytes = 1024};
  RequestParser parser(limits);
  std::size_t fed = 0;
  ParseResult r = parser.feed(bytesOf("GET / HTTP/1.1\r\n"));
  fed += r.consumed;
  for (int i = 0; i < 1000 && r.status == ParseStatus::NeedMore; ++i) {
    r = parser.feed(bytesOf("X-a: b\r\n"));
    if (r.status == ParseStatus::NeedMore) fed += r.consumed;
  }
  ASSERT_EQ(r.status, ParseStatus::Error);
  EXPECT_EQ(fed + r.consumed, 1024U); // the 1025th byte is the one rejected
  EXPECT_EQ(parser.error().code, HeadError::HeadersTooLarge);
  EXPECT_EQ(parser.error().http_status, 431);
}

// ---- malformed input ----

struct BadCase {
  std::string input;
  HeadError code;
  int status;
};

TEST(HttpRequestParser, MalformedInputIsRejected) {
  const std::vector<BadCase> cases = {
      {"GET /a b HTTP/1.1\r\n\r\n", HeadError::MalformedStartLine, 400},
      {"get / HTTP/1.1\r\n\r\n", HeadError::MalformedStartLine, 400},
      {"FOO / HTTP/1.1\r\n\r\n", HeadError::MalformedStartLine, 400},
      {"GET / HTTX/1.1\r\n\r\n", HeadError::MalformedStartLine, 400},
      {"GET /a\tb HTTP/1.1\r\n\r\n", HeadError::MalformedStartLine, 400},
      {"GET /\x7f HTTP/1.1\r\n\r\n", HeadError::MalformedStartLine, 400},
      {"GET / HTTP/x.1\r\n\r\n", HeadError::MalformedStartLine, 400},
      {"GET / HTTP/1.1 \r\n\r\n", HeadError::MalformedStartLine, 400},
      {"GET /\r\n\r\n", HeadError::MalformedStartLine, 400},
      {"GET / HTTP/1.2\r\n\r\n", HeadError::UnsupportedVersion, 505},
      {"GET / HTTP/2.0\r\n\r\n", HeadError::UnsupportedVersion, 505},
      {"GET / HTTP/0.9\r\n\r\n", HeadError::UnsupportedVersion, 505},
      {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", HeadError::UnsupportedVersion, 505},
      {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", HeadError::InvalidHeaderName, 400},
      {"GET / HTTP/1.1\r\n: a\r\n\r\n", HeadError::InvalidHeaderName, 400},
      {"GET / HTTP/1.1\r\nX\x01Y: a\r\n\r\n", HeadError::InvalidHeaderName, 400},
      {"GET / HTTP/1.1\r\nX-\xc3\xa9: a\r\n\r\n", HeadError::InvalidHeaderName, 400},
      {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", HeadError::InvalidHeaderName, 400},
      {"GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n", HeadError::InvalidHeaderValue, 400},
      {"GET / HTTP/1.1\r\nX: a\x7fz\r\n\r\n", HeadError::InvalidHeaderValue, 400},
      {"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", HeadError::ObsoleteLineFolding, 400},
      {"GET / HTTP/1.1\r\n Host: a\r\n\r\n", HeadError::ObsoleteLineFolding, 400},
      {"GET / HTTP/1.1\nHost: a\r\n\r\n", HeadError::BadLineEnding, 400},
      {"GET / HTTP/1.1\r\nHost: a\n\r\n", HeadError::BadLineEnding, 400},
      {"GET / HTTP/1.1\r\nHost: a\r\n\n", HeadError::BadLineEnding, 400},
      {"GET / HTTP/1.1\r\nHost: a\r\n\rX", HeadError::BadLineEnding, 400},
      {"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", HeadError::BadLineEnding, 400},
      {"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
       HeadError::InvalidBodyLength, 400},
      {"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", HeadError::InvalidBodyLength, 400},
      {"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n",
       HeadError::InvalidBodyLength, 400},
      {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),
       HeadError::MalformedStartLine, 400},
      {std::string("\0\0\0\0", 4), HeadError::MalformedStartLine, 400},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(testing::PrintToString(c.input));
    const Outcome out = parseWhole(c.input);
    EXPECT_EQ(out.status, ParseStatus::Error);
    EXPECT_EQ(out.error, c.code);
    EXPECT_EQ(out.http_status, c.status);
    EXPECT_STRNE(out.reason.c_str(), "");
    expectSplitInvariant(c.input);
  }
}

TEST(HttpRequestParser, ReasonsAreShortAndStatic) {
  RequestParser parser;
  ASSERT_EQ(parser.feed(bytesOf("GET / HTTP/1.1\r\nHost : a\r\n\r\n")).status, ParseStatus::Error);
  EXPECT_STREQ(parser.error().reason, "invalid header name");
  RequestParser line;
  ASSERT_EQ(line.feed(bytesOf("GET /a b HTTP/1.1\r\n")).status, ParseStatus::Error);
  EXPECT_STREQ(line.error().reason, "malformed request line");
}

TEST(HttpRequestParser, ParserCanBeMovedBetweenFeeds) {
  RequestParser first;
  ASSERT_EQ(first.feed(bytesOf(kUpgrade.substr(0, 40))).status, ParseStatus::NeedMore);
  RequestParser moved = std::move(first);
  const ParseResult r = moved.feed(bytesOf(kUpgrade.substr(40)));
  ASSERT_EQ(r.status, ParseStatus::Done);
  EXPECT_EQ(moved.request().target, "/chat?room=1");
  EXPECT_EQ(moved.request().headers.size(), 6U);
}

} // namespace
} // namespace wsgate::http
