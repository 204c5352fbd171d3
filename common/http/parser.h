#pragma once

#include "common/http/head_scanner.h"
#include "common/http/headers.h"
#include "common/http/types.h"

#include <cstddef>
#include <cstdint>
#include <llhttp.h>
#include <span>
#include <string>
#include <type_traits>

namespace wsgate::http {

// A request head: the request line and the header fields. The body, if any, is not parsed.
struct Request {
  std::string method; // as sent, a method llhttp knows ("GET")
  std::string target; // the request target as sent ("/chat?room=1")
  uint8_t version_major = 0;
  uint8_t version_minor = 0;
  HeaderList headers;
  // llhttp's view: Connection lists "upgrade" and an Upgrade field is present (or CONNECT).
  bool upgrade = false;
  // A body follows the head: Content-Length above 0 or any Transfer-Encoding.
  bool has_body = false;
};

// A response head: the status line and the header fields. The body, if any, is not parsed.
struct Response {
  int status = 0;
  std::string reason;
  uint8_t version_major = 0;
  uint8_t version_minor = 0;
  HeaderList headers;
  // llhttp's view: status 101 with Connection listing "upgrade" and an Upgrade field.
  bool upgrade = false;
};

namespace detail {

// The shared machinery of RequestParser and ResponseParser (Message is Request or Response).
//
// Bytes go first through a HeadScanner, which finds the first byte breaking a limit or the
// line syntax; llhttp then parses only the bytes before it. llhttp stops at the end of every
// head (on_headers_complete pauses it), upgrade or not, so whatever follows the head is handed
// back untouched. Results (status, consumed offsets summed over feeds, message, error) do not
// depend on how the input is split.
//
// llhttp runs with every lenient flag off. On top of it this class rejects what llhttp's loose
// mode accepts: white space before a header's colon, an empty header name, obsolete line
// folding, bare CR or LF, control characters in the target or reason phrase, status codes
// below 100, and versions other than HTTP/1.0 and HTTP/1.1.
template <typename Message> class HeadParser {
public:
  explicit HeadParser(Limits limits);

  // Feeds the next bytes of the stream. See ParseResult for what `consumed` means.
  [[nodiscard]] ParseResult feed(std::span<const uint8_t> bytes);

  ParseStatus status() const { return status_; }
  // The head parsed so far; complete once status() is Done. After an error it holds only what
  // was complete before it (the target of a request whose headers were too large, say); a part
  // still being read is left empty, and a header is complete once the next line has started.
  const Message& message() const { return message_; }
  // Why the head was rejected; code None unless status() is Error.
  const ParseError& error() const { return error_; }
  // Bytes of the head consumed so far (the whole head once status() is Done).
  std::size_t headBytes() const { return head_bytes_; }

private:
  static constexpr HeadKind kKind =
      std::is_same_v<Message, Request> ? HeadKind::Request : HeadKind::Response;

  static const llhttp_settings_t& settings();
  static HeadParser& self(llhttp_t* parser) { return *static_cast<HeadParser*>(parser->data); }
  static int reject(llhttp_t* parser, HeadError error);

  static int onMethod(llhttp_t* parser, const char* at, std::size_t length);
  static int onMethodComplete(llhttp_t* parser);
  static int onUrl(llhttp_t* parser, const char* at, std::size_t length);
  static int onUrlComplete(llhttp_t* parser);
  static int onStatus(llhttp_t* parser, const char* at, std::size_t length);
  static int onStatusComplete(llhttp_t* parser);
  static int onVersion(llhttp_t* parser, const char* at, std::size_t length);
  static int onVersionComplete(llhttp_t* parser);
  static int onHeaderField(llhttp_t* parser, const char* at, std::size_t length);
  static int onHeaderFieldComplete(llhttp_t* parser);
  static int onHeaderValue(llhttp_t* parser, const char* at, std::size_t length);
  static int onHeaderValueComplete(llhttp_t* parser);
  static int onHeadersComplete(llhttp_t* parser);

  HeadError checkStartLineEnd();
  HeadError mapLlhttpError(llhttp_errno_t err) const;
  ParseResult fail(HeadError error, std::size_t at);

  // Invariant: parser_.data points at this object while feed() runs (set on entry, so the
  // object may be moved between feeds).
  llhttp_t parser_{};
  HeadScanner scanner_;
  Message message_;
  ParseStatus status_ = ParseStatus::NeedMore;
  ParseError error_;
  std::size_t head_bytes_ = 0;
  // An error a callback found, reported instead of llhttp's generic callback error.
  HeadError callback_error_ = HeadError::None;
  // Which parts of the start line are complete; after an error the others are cleared, so a
  // failed parse exposes only complete parts, whatever the split.
  bool method_done_ = false;
  bool target_done_ = false;
  bool version_done_ = false;
  bool reason_done_ = false;
  bool headers_complete_ = false;
  // Between a header name's colon and the end of its value.
  bool in_value_ = false;
  std::string version_; // the version digits as sent ("1.1"), for error mapping
  std::string name_;    // the header field being read, accumulated across split callbacks
  std::string value_;
};

extern template class HeadParser<Request>;
extern template class HeadParser<Response>;

} // namespace detail

// Parses a client's request head (the WebSocket upgrade request, or anything else: the caller
// validates). Fed arbitrary chunks, down to single bytes.
class RequestParser : public detail::HeadParser<Request> {
public:
  explicit RequestParser(Limits limits = {}) : HeadParser(limits) {}
  const Request& request() const { return message(); }
};

// Parses a backend's response head to a forwarded upgrade request. It stops at the end of any
// response head, 101 or not, interim 1xx responses included: the caller decides.
class ResponseParser : public detail::HeadParser<Response> {
public:
  explicit ResponseParser(Limits limits = {}) : HeadParser(limits) {}
  const Response& response() const { return message(); }
};

} // namespace wsgate::http
