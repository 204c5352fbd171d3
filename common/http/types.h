#pragma once

#include <cstddef>
#include <cstdint>

namespace wsgate::http {

// Caps on a message head (start line + header fields + the empty line), enforced byte by byte
// as the head arrives. A line's length counts every byte before its CRLF; the head's size
// counts every byte up to and including the final CRLF, start line included.
struct Limits {
  std::size_t max_headers = 64;
  std::size_t max_header_line = 8192;
  std::size_t max_header_bytes = 16384;
};

// Why a head was rejected. The comments give the status a request parser maps it to; a
// response parser maps every error to 502 (the backend is at fault, the client gets a
// Bad Gateway).
enum class HeadError : uint8_t {
  None,
  StartLineTooLong,    // 414: request line over max_header_line (it is mostly the target)
  HeaderLineTooLong,   // 431: a header line over max_header_line
  TooManyHeaders,      // 431: more than max_headers fields
  HeadersTooLarge,     // 431: the head over max_header_bytes
  MalformedStartLine,  // 400: bad method, target, status code or reason phrase
  UnsupportedVersion,  // 505: a well-formed version other than HTTP/1.0 and HTTP/1.1
  InvalidHeaderName,   // 400: empty, or not a token (white space before the colon included)
  InvalidHeaderValue,  // 400: a control character in a value
  ObsoleteLineFolding, // 400: a line starting with white space (RFC 9112 section 5.2)
  BadLineEnding,       // 400: a CR without LF, or an LF without CR
  InvalidBodyLength,   // 400: bad or conflicting Content-Length / Transfer-Encoding
  Malformed,           // 400: any other syntax error llhttp reports
};

// Which kind of head a parser reads; it picks the wording of start-line reasons and the status.
enum class HeadKind : uint8_t { Request, Response };

// A short static reason for logs and error bodies ("header line too long").
const char* reasonFor(HeadError error, HeadKind kind);
// The status to answer with: see HeadError for requests; 502 for every response error.
int httpStatusFor(HeadError error, HeadKind kind);

enum class ParseStatus : uint8_t {
  NeedMore, // the head is not complete; every byte fed so far belongs to it
  Done,     // the head is complete; later feeds consume nothing
  Error,    // the head is invalid; later feeds consume nothing
};

struct ParseResult {
  ParseStatus status = ParseStatus::NeedMore;
  // NeedMore: the whole input. Done: the bytes of the input that end the head; the input from
  // `consumed` on is the start of the next protocol (WebSocket frames, a body), untouched.
  // Error: the offset in the input where the error was found (informational).
  std::size_t consumed = 0;
};

struct ParseError {
  HeadError code = HeadError::None;
  int http_status = 0;     // 0 while there is no error
  const char* reason = ""; // static storage
};

} // namespace wsgate::http
