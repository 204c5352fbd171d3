#include "common/http/types.h"

namespace wsgate::http {

const char* reasonFor(HeadError error, HeadKind kind) {
  const bool request = kind == HeadKind::Request;
  switch (error) {
  case HeadError::None:
    return "";
  case HeadError::StartLineTooLong:
    return request ? "request line too long" : "status line too long";
  case HeadError::HeaderLineTooLong:
    return "header line too long";
  case HeadError::TooManyHeaders:
    return "too many headers";
  case HeadError::HeadersTooLarge:
    return "headers too large";
  case HeadError::MalformedStartLine:
    return request ? "malformed request line" : "malformed status line";
  case HeadError::UnsupportedVersion:
    return "unsupported HTTP version";
  case HeadError::InvalidHeaderName:
    return "invalid header name";
  case HeadError::InvalidHeaderValue:
    return "invalid header value";
  case HeadError::ObsoleteLineFolding:
    return "obsolete line folding";
  case HeadError::BadLineEnding:
    return "bare CR or LF";
  case HeadError::InvalidBodyLength:
    return "invalid Content-Length or Transfer-Encoding";
  case HeadError::Malformed:
    return request ? "malformed request" : "malformed response";
  }
  return "unknown error";
}

int httpStatusFor(HeadError error, HeadKind kind) {
  if (error == HeadError::None) return 0;
  if (kind == HeadKind::Response) return 502;
  switch (error) {
  case HeadError::StartLineTooLong:
    return 414;
  case HeadError::HeaderLineTooLong:
  case HeadError::TooManyHeaders:
  case HeadError::HeadersTooLarge:
    return 431;
  case HeadError::UnsupportedVersion:
    return 505;
  default:
    return 400;
  }
}

} // namespace wsgate::http
