#include "common/http/error_response.h"
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

constexpr std::string_view k101 = "HTTP/1.1 101 Switching Protocols\r\n"
                                  "Upgrade: websocket\r\n"
                                  "Connection: Upgrade\r\n"
                                  "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                                  "Sec-WebSocket-Protocol: chat\r\n"
                                  "\r\n";
// An unmasked text frame "hello" and a ping.
constexpr std::string_view kFrames = "\x81\x05hello\x89\x00";

std::span<const uint8_t> bytesOf(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

struct Outcome {
  ParseStatus status = ParseStatus::NeedMore;
  std::size_t head = 0;
  HeadError error = HeadError::None;
  int http_status = 0;
  std::string error_reason;
  int status_code = 0;
  std::string reason;
  int major = -1;
  int minor = -1;
  std::vector<std::pair<std::string, std::string>> headers;
  bool upgrade = false;

  bool operator==(const Outcome&) const = default;
};

void PrintTo(const Outcome& o, std::ostream* os) {
  *os << "{status " << static_cast<int>(o.status) << ", head " << o.head << ", error "
      << static_cast<int>(o.error) << " (" << o.error_reason << "), headers " << o.headers.size()
      << "}";
}

Outcome parseSplit(std::string_view input, const std::vector<std::size_t>& cuts,
                   Limits limits = {}) {
  ResponseParser parser(limits);
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
  out.error = parser.error().code;
  out.http_status = parser.error().http_status;
  out.error_reason = parser.error().reason;
  const Response& res = parser.response();
  out.status_code = res.status;
  out.reason = res.reason;
  out.major = res.version_major;
  out.minor = res.version_minor;
  for (const Header& h : res.headers)
    out.headers.emplace_back(h.name, h.value);
  out.upgrade = res.upgrade;
  return out;
}

Outcome parseWhole(std::string_view input, Limits limits = {}) {
  return parseSplit(input, {}, limits);
}

void expectSplitInvariant(std::string_view input, Limits limits = {}) {
  const Outcome whole = parseWhole(input, limits);
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < input.size(); ++i)
    every.push_back(i);
  EXPECT_EQ(parseSplit(input, every, limits), whole) << "byte by byte";
  for (std::size_t i = 0; i <= input.size(); ++i) {
    EXPECT_EQ(parseSplit(input, {i}, limits), whole) << "split at " << i;
  }
}

TEST(HttpResponseParser, Parses101FollowedByFrames) {
  const std::string input = std::string(k101) + std::string(kFrames);
  ResponseParser parser;
  const ParseResult r = parser.feed(bytesOf(input));
  ASSERT_EQ(r.status, ParseStatus::Done);
  ASSERT_EQ(r.consumed, k101.size());
  EXPECT_EQ(std::string_view(input).substr(r.consumed), kFrames);
  const Response& res = parser.response();
  EXPECT_EQ(res.status, 101);
  EXPECT_EQ(res.reason, "Switching Protocols");
  EXPECT_EQ(res.version_major, 1);
  EXPECT_EQ(res.version_minor, 1);
  EXPECT_TRUE(res.upgrade);
  EXPECT_EQ(res.headers.get("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(res.headers.get("Sec-WebSocket-Protocol"), "chat");
  EXPECT_EQ(parser.headBytes(), k101.size());
}

TEST(HttpResponseParser, SameResultForEverySplit) {
  expectSplitInvariant(k101);
  expectSplitInvariant(std::string(k101) + std::string(kFrames));
  const std::string input = std::string(k101) + std::string(kFrames);
  for (std::size_t i = 0; i <= input.size(); ++i) {
    EXPECT_EQ(parseSplit(input, {i}).head, k101.size()) << "split at " << i;
  }
}

TEST(HttpResponseParser, Non101WithBodyStopsAtEndOfHeaders) {
  const std::string head = "HTTP/1.1 403 Forbidden\r\n"
                           "Content-Type: text/plain\r\n"
                           "Content-Length: 13\r\n"
                           "\r\n";
  const std::string input = head + "access denied";
  ResponseParser parser;
  const ParseResult r = parser.feed(bytesOf(input));
  ASSERT_EQ(r.status, ParseStatus::Done);
  EXPECT_EQ(r.consumed, head.size());
  EXPECT_EQ(std::string_view(input).substr(r.consumed), "access denied");
  EXPECT_EQ(parser.response().status, 403);
  EXPECT_EQ(parser.response().reason, "Forbidden");
  EXPECT_FALSE(parser.response().upgrade);
  expectSplitInvariant(input);
}

TEST(HttpResponseParser, UpgradeHeadersWithoutStatus101AreNoUpgrade) {
  const Outcome out =
      parseWhole("HTTP/1.1 200 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n");
  ASSERT_EQ(out.status, ParseStatus::Done);
  EXPECT_FALSE(out.upgrade);
}

TEST(HttpResponseParser, InterimResponseStopsToo) {
  const std::string head = "HTTP/1.1 100 Continue\r\n\r\n";
  const Outcome out = parseWhole(head + std::string(k101));
  ASSERT_EQ(out.status, ParseStatus::Done);
  EXPECT_EQ(out.status_code, 100);
  EXPECT_EQ(out.head, head.size());
}

TEST(HttpResponseParser, EmptyReasonPhrase) {
  const Outcome out = parseWhole("HTTP/1.0 503\r\nRetry-After: 5\r\n\r\n");
  ASSERT_EQ(out.status, ParseStatus::Done);
  EXPECT_EQ(out.status_code, 503);
  EXPECT_EQ(out.reason, "");
  EXPECT_EQ(out.minor, 0);
}

TEST(HttpResponseParser, ErrorsMapTo502) {
  struct Case {
    std::string input;
    HeadError code;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"HTTP/1.1 99 Odd\r\n\r\n", HeadError::MalformedStartLine, "malformed status line"},
      {"HTTP/1.1 99\r\n\r\n", HeadError::MalformedStartLine, "malformed status line"},
      {"HTTP/1.1 1010 x\r\n\r\n", HeadError::MalformedStartLine, "malformed status line"},
      {"HTTP/1.1 101 Sw\x01itching\r\n\r\n", HeadError::MalformedStartLine,
       "malformed status line"},
      {"HTTX/1.1 101 OK\r\n\r\n", HeadError::MalformedStartLine, "malformed status line"},
      {"HTTP/2.0 101 OK\r\n\r\n", HeadError::UnsupportedVersion, "unsupported HTTP version"},
      {"HTTP/1.1 101 OK\r\nUpgrade : websocket\r\n\r\n", HeadError::InvalidHeaderName,
       "invalid header name"},
      {"HTTP/1.1 101 OK\r\nX: a\r\n b\r\n\r\n", HeadError::ObsoleteLineFolding,
       "obsolete line folding"},
      {"HTTP/1.1 101 OK\nX: a\r\n\r\n", HeadError::BadLineEnding, "bare CR or LF"},
      {"SSH-2.0-OpenSSH_9.2\r\n", HeadError::MalformedStartLine, "malformed status line"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::PrintToString(c.input));
    const Outcome out = parseWhole(c.input);
    EXPECT_EQ(out.status, ParseStatus::Error);
    EXPECT_EQ(out.error, c.code);
    EXPECT_EQ(out.http_status, 502);
    EXPECT_EQ(out.error_reason, c.reason);
    expectSplitInvariant(c.input);
  }
}

TEST(HttpResponseParser, LimitsApplyToResponses) {
  const Limits limits{.max_headers = 2, .max_header_line = 64, .max_header_bytes = 128};
  Outcome out = parseWhole("HTTP/1.1 101 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits);
  EXPECT_EQ(out.error, HeadError::TooManyHeaders);
  EXPECT_EQ(out.http_status, 502);
  out = parseWhole("HTTP/1.1 101 " + std::string(80, 'k'), limits);
  EXPECT_EQ(out.error, HeadError::StartLineTooLong);
  EXPECT_EQ(out.error_reason, "status line too long");
  out = parseWhole("HTTP/1.1 101 OK\r\nA: " + std::string(70, 'v'), limits);
  EXPECT_EQ(out.error, HeadError::HeaderLineTooLong);
  out = parseWhole("HTTP/1.1 101 OK\r\nA: " + std::string(50, 'v') +
                       "\r\nB: " + std::string(50, 'v') + "\r\n\r\n",
                   limits);
  EXPECT_EQ(out.error, HeadError::HeadersTooLarge);
  EXPECT_EQ(out.http_status, 502);
}

// ---- responses wsgate writes ----

TEST(HttpErrorResponse, StandardReasons) {
  EXPECT_EQ(statusReason(400), "Bad Request");
  EXPECT_EQ(statusReason(401), "Unauthorized");
  EXPECT_EQ(statusReason(403), "Forbidden");
  EXPECT_EQ(statusReason(404), "Not Found");
  EXPECT_EQ(statusReason(405), "Method Not Allowed");
  EXPECT_EQ(statusReason(414), "URI Too Long");
  EXPECT_EQ(statusReason(426), "Upgrade Required");
  EXPECT_EQ(statusReason(429), "Too Many Requests");
  EXPECT_EQ(statusReason(431), "Request Header Fields Too Large");
  EXPECT_EQ(statusReason(500), "Internal Server Error");
  EXPECT_EQ(statusReason(501), "Not Implemented");
  EXPECT_EQ(statusReason(502), "Bad Gateway");
  EXPECT_EQ(statusReason(503), "Service Unavailable");
  EXPECT_EQ(statusReason(504), "Gateway Timeout");
  EXPECT_EQ(statusReason(505), "HTTP Version Not Supported");
  EXPECT_EQ(statusReason(299), "Unknown");
}

TEST(HttpErrorResponse, BuildsACompleteResponse) {
  const Header extra[] = {{"Sec-WebSocket-Version", "13"}, {"Retry-After", "5"}};
  const std::string out = buildErrorResponse(426, "upgrade required\n", extra);
  EXPECT_EQ(out, "HTTP/1.1 426 Upgrade Required\r\n"
                 "Content-Type: text/plain; charset=utf-8\r\n"
                 "Content-Length: 17\r\n"
                 "Connection: close\r\n"
                 "Sec-WebSocket-Version: 13\r\n"
                 "Retry-After: 5\r\n"
                 "\r\n"
                 "upgrade required\n");
  EXPECT_EQ(buildErrorResponse(404, ""), "HTTP/1.1 404 Not Found\r\n"
                                         "Content-Type: text/plain; charset=utf-8\r\n"
                                         "Content-Length: 0\r\n"
                                         "Connection: close\r\n"
                                         "\r\n");
}

TEST(HttpErrorResponse, RoundTripsThroughTheParser) {
  const Header extra[] = {{"Retry-After", "1"}};
  const std::string out = buildErrorResponse(503, "no healthy backend", extra);
  ResponseParser parser;
  const ParseResult r = parser.feed(bytesOf(out));
  ASSERT_EQ(r.status, ParseStatus::Done);
  EXPECT_EQ(std::string_view(out).substr(r.consumed), "no healthy backend");
  EXPECT_EQ(parser.response().status, 503);
  EXPECT_EQ(parser.response().reason, "Service Unavailable");
  EXPECT_EQ(parser.response().headers.get("content-length"), "18");
  EXPECT_EQ(parser.response().headers.get("retry-after"), "1");
}

TEST(HttpErrorResponse, UnsafeExtraHeadersAreLeftOut) {
  const Header extra[] = {
      {"X-Ok", "fine"}, {"X-Bad", "a\r\nSet-Cookie: evil=1"}, {"Bad Name", "v"}, {"", "v"}};
  const std::string out = buildErrorResponse(400, "bad", extra);
  EXPECT_NE(out.find("X-Ok: fine\r\n"), std::string::npos);
  EXPECT_EQ(out.find("evil"), std::string::npos);
  EXPECT_EQ(out.find("Bad Name"), std::string::npos);
  EXPECT_EQ(out.find("\r\n: v"), std::string::npos);
}

} // namespace
} // namespace wsgate::http
