#include "common/ws/close.h"

#include "common/ws/utf8.h"

namespace wsgate::ws {

bool isValidCloseCode(uint16_t code) {
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1014) return true;
  return code >= 3000 && code <= 4999;
}

const char* closeCodeName(uint16_t code) {
  switch (code) {
  case close_code::kNormal:
    return "normal closure";
  case close_code::kGoingAway:
    return "going away";
  case close_code::kProtocolError:
    return "protocol error";
  case close_code::kUnsupportedData:
    return "unsupported data";
  case close_code::kNoStatus:
    return "no status";
  case close_code::kAbnormal:
    return "abnormal closure";
  case close_code::kInvalidPayload:
    return "invalid payload data";
  case close_code::kPolicyViolation:
    return "policy violation";
  case close_code::kMessageTooBig:
    return "message too big";
  case close_code::kMandatoryExtension:
    return "mandatory extension";
  case close_code::kInternalError:
    return "internal error";
  case close_code::kServiceRestart:
    return "service restart";
  case close_code::kTryAgainLater:
    return "try again later";
  case close_code::kBadGateway:
    return "bad gateway";
  case close_code::kTlsHandshake:
    return "tls handshake failure";
  case close_code::kAuthExpired:
    return "auth expired";
  case close_code::kRateLimited:
    return "rate limited";
  case close_code::kSessionExpired:
    return "session expired";
  default:
    break;
  }
  if (code >= 4000 && code <= 4999) return "private";
  if (code >= 3000 && code <= 3999) return "registered";
  return "invalid";
}

std::string describeCloseCode(uint16_t code) {
  return std::to_string(code) + " " + closeCodeName(code);
}

CloseParseError parseClosePayload(std::span<const uint8_t> payload, ClosePayload& out) {
  out = ClosePayload{};
  if (payload.empty()) return CloseParseError::None;
  if (payload.size() == 1) return CloseParseError::OneByte;
  const auto code = static_cast<uint16_t>((payload[0] << 8) | payload[1]);
  if (!isValidCloseCode(code)) return CloseParseError::InvalidCode;
  const auto reason = payload.subspan(2);
  if (!Utf8Validator::validate(reason)) return CloseParseError::InvalidUtf8;
  out.code = code;
  out.reason = std::string_view(reinterpret_cast<const char*>(reason.data()), reason.size());
  return CloseParseError::None;
}

std::string_view truncateUtf8(std::string_view reason, std::size_t max) {
  if (reason.size() <= max) return reason;
  std::size_t end = max;
  // Step back over continuation bytes so the cut lands before a lead byte.
  while (end > 0 && (static_cast<uint8_t>(reason[end]) & 0xC0) == 0x80)
    --end;
  return reason.substr(0, end);
}

} // namespace wsgate::ws
