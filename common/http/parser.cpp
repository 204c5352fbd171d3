#include "common/http/parser.h"

#include <string_view>
#include <utility>

namespace wsgate::http::detail {

namespace {

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// "1.2": a version llhttp rejects that is well formed, so 505 rather than 400.
bool isDigitDotDigit(std::string_view v) {
  return v.size() == 3 && isDigit(v[0]) && v[1] == '.' && isDigit(v[2]);
}

// A request target never holds white space or control characters (RFC 9112 section 3.2);
// llhttp's loose mode lets a tab through.
bool isValidTarget(std::string_view target) {
  for (const char ch : target) {
    const auto c = static_cast<uint8_t>(ch);
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool allFieldValueChars(std::string_view s) {
  for (const char c : s) {
    if (!isFieldValueChar(static_cast<uint8_t>(c))) return false;
  }
  return true;
}

} // namespace

template <typename Message> HeadParser<Message>::HeadParser(Limits limits) : scanner_(limits) {
  llhttp_init(&parser_, kKind == HeadKind::Request ? HTTP_REQUEST : HTTP_RESPONSE, &settings());
}

template <typename Message> const llhttp_settings_t& HeadParser<Message>::settings() {
  static const llhttp_settings_t kSettings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_method = &onMethod;
    s.on_method_complete = &onMethodComplete;
    s.on_url = &onUrl;
    s.on_url_complete = &onUrlComplete;
    s.on_status = &onStatus;
    s.on_status_complete = &onStatusComplete;
    s.on_version = &onVersion;
    s.on_version_complete = &onVersionComplete;
    s.on_header_field = &onHeaderField;
    s.on_header_field_complete = &onHeaderFieldComplete;
    s.on_header_value = &onHeaderValue;
    s.on_header_value_complete = &onHeaderValueComplete;
    s.on_headers_complete = &onHeadersComplete;
    return s;
  }();
  return kSettings;
}

// The scanner judges the bytes first and llhttp parses only those before the first bad one, so
// the earlier of the two errors wins whatever the split. Every llhttp error is positional and
// every callback check below runs in a *_complete callback (a fixed byte), never in a span
// callback (whose calls depend on the split).
template <typename Message> ParseResult HeadParser<Message>::feed(std::span<const uint8_t> bytes) {
  if (status_ != ParseStatus::NeedMore) return ParseResult{status_, 0};
  parser_.data = this;
  const HeadScanner::Result scan = scanner_.scan(bytes);
  const char* data = reinterpret_cast<const char*>(bytes.data());
  const llhttp_errno_t err = scan.pos == 0 ? HPE_OK : llhttp_execute(&parser_, data, scan.pos);
  if (err == HPE_OK) {
    if (scan.error != HeadError::None) return fail(scan.error, scan.pos);
    // The scanner saw the empty line but llhttp did not end the head there.
    if (scan.head_end) return fail(HeadError::Malformed, scan.pos);
    head_bytes_ += scan.pos;
    return ParseResult{ParseStatus::NeedMore, scan.pos};
  }
  const char* pos = llhttp_get_error_pos(&parser_);
  const std::size_t at = pos != nullptr ? static_cast<std::size_t>(pos - data) : 0;
  if (err == HPE_PAUSED && headers_complete_ && callback_error_ == HeadError::None) {
    head_bytes_ += at;
    status_ = ParseStatus::Done;
    return ParseResult{ParseStatus::Done, at};
  }
  return fail(mapLlhttpError(err), at);
}

template <typename Message> ParseResult HeadParser<Message>::fail(HeadError error, std::size_t at) {
  status_ = ParseStatus::Error;
  if constexpr (kKind == HeadKind::Request) {
    if (!method_done_) message_.method.clear();
    if (!target_done_) message_.target.clear();
  } else {
    if (!reason_done_) message_.reason.clear();
  }
  error_ = ParseError{error, httpStatusFor(error, kKind), reasonFor(error, kKind)};
  return ParseResult{ParseStatus::Error, at};
}

template <typename Message>
HeadError HeadParser<Message>::mapLlhttpError(llhttp_errno_t err) const {
  if (callback_error_ != HeadError::None) return callback_error_;
  switch (err) {
  case HPE_INVALID_METHOD:
  case HPE_INVALID_URL:
  case HPE_INVALID_CONSTANT:
  case HPE_INVALID_STATUS:
    return HeadError::MalformedStartLine;
  case HPE_INVALID_VERSION:
    // Before on_version_complete: llhttp refused the digits. After it: bytes after the version.
    return !version_done_ && isDigitDotDigit(version_) ? HeadError::UnsupportedVersion
                                                       : HeadError::MalformedStartLine;
  case HPE_INVALID_HEADER_TOKEN:
    return in_value_ ? HeadError::InvalidHeaderValue : HeadError::InvalidHeaderName;
  case HPE_INVALID_CONTENT_LENGTH:
  case HPE_UNEXPECTED_CONTENT_LENGTH:
  case HPE_INVALID_TRANSFER_ENCODING:
    return HeadError::InvalidBodyLength;
  default:
    return HeadError::Malformed;
  }
}

template <typename Message> int HeadParser<Message>::reject(llhttp_t* parser, HeadError error) {
  self(parser).callback_error_ = error;
  llhttp_set_error_reason(parser, reasonFor(error, kKind));
  return HPE_USER;
}

template <typename Message>
int HeadParser<Message>::onMethod(llhttp_t* parser, const char* at, std::size_t length) {
  if constexpr (kKind == HeadKind::Request) self(parser).message_.method.append(at, length);
  return HPE_OK;
}

template <typename Message> int HeadParser<Message>::onMethodComplete(llhttp_t* parser) {
  self(parser).method_done_ = true;
  return HPE_OK;
}

template <typename Message>
int HeadParser<Message>::onUrl(llhttp_t* parser, const char* at, std::size_t length) {
  if constexpr (kKind == HeadKind::Request) self(parser).message_.target.append(at, length);
  return HPE_OK;
}

template <typename Message> int HeadParser<Message>::onUrlComplete(llhttp_t* parser) {
  if constexpr (kKind == HeadKind::Request) {
    HeadParser& p = self(parser);
    if (!isValidTarget(p.message_.target)) return reject(parser, HeadError::MalformedStartLine);
    p.target_done_ = true;
  }
  return HPE_OK;
}

template <typename Message>
int HeadParser<Message>::onStatus(llhttp_t* parser, const char* at, std::size_t length) {
  if constexpr (kKind == HeadKind::Response) self(parser).message_.reason.append(at, length);
  return HPE_OK;
}

template <typename Message> int HeadParser<Message>::onStatusComplete(llhttp_t* parser) {
  if constexpr (kKind == HeadKind::Response) {
    HeadParser& p = self(parser);
    const HeadError error = p.checkStartLineEnd();
    if (error != HeadError::None) return reject(parser, error);
    p.reason_done_ = true;
  }
  return HPE_OK;
}

template <typename Message>
int HeadParser<Message>::onVersion(llhttp_t* parser, const char* at, std::size_t length) {
  self(parser).version_.append(at, length);
  return HPE_OK;
}

template <typename Message> int HeadParser<Message>::onVersionComplete(llhttp_t* parser) {
  HeadParser& p = self(parser);
  p.message_.version_major = parser->http_major;
  p.message_.version_minor = parser->http_minor;
  p.version_done_ = true;
  if (parser->http_major != 1 || parser->http_minor > 1) {
    return reject(parser, HeadError::UnsupportedVersion);
  }
  return HPE_OK;
}

template <typename Message>
int HeadParser<Message>::onHeaderField(llhttp_t* parser, const char* at, std::size_t length) {
  self(parser).name_.append(at, length);
  return HPE_OK;
}

template <typename Message> int HeadParser<Message>::onHeaderFieldComplete(llhttp_t* parser) {
  HeadParser& p = self(parser);
  // llhttp's loose mode accepts "Name : value" (the space kept in the name) and ": value".
  if (!isToken(p.name_)) return reject(parser, HeadError::InvalidHeaderName);
  p.in_value_ = true;
  return HPE_OK;
}

template <typename Message>
int HeadParser<Message>::onHeaderValue(llhttp_t* parser, const char* at, std::size_t length) {
  self(parser).value_.append(at, length);
  return HPE_OK;
}

template <typename Message> int HeadParser<Message>::onHeaderValueComplete(llhttp_t* parser) {
  HeadParser& p = self(parser);
  const std::string_view value = trimOws(p.value_);
  if (!allFieldValueChars(value)) return reject(parser, HeadError::InvalidHeaderValue);
  p.message_.headers.add(std::move(p.name_), std::string(value));
  p.name_.clear();
  p.value_.clear();
  p.in_value_ = false;
  return HPE_OK;
}

// The start line is over. Requests: a version was sent (llhttp takes "GET /" as HTTP/0.9).
// Responses: a three-digit status code and a reason phrase without control characters.
template <typename Message> HeadError HeadParser<Message>::checkStartLineEnd() {
  if constexpr (kKind == HeadKind::Request) {
    if (version_.empty()) return HeadError::MalformedStartLine;
  } else {
    message_.status = parser_.status_code;
    if (message_.status < 100 || !allFieldValueChars(message_.reason)) {
      return HeadError::MalformedStartLine;
    }
  }
  return HeadError::None;
}

// Always pauses, so llhttp stops right after the head's final LF whatever follows it.
template <typename Message> int HeadParser<Message>::onHeadersComplete(llhttp_t* parser) {
  HeadParser& p = self(parser);
  const HeadError error = p.checkStartLineEnd();
  if (error != HeadError::None) return reject(parser, error);
  p.message_.upgrade = parser->upgrade != 0;
  if constexpr (kKind == HeadKind::Request) {
    p.message_.has_body = (parser->flags & (F_CHUNKED | F_TRANSFER_ENCODING)) != 0 ||
                          ((parser->flags & F_CONTENT_LENGTH) != 0 && parser->content_length > 0);
  }
  p.headers_complete_ = true;
  return HPE_PAUSED;
}

template class HeadParser<Request>;
template class HeadParser<Response>;

} // namespace wsgate::http::detail
