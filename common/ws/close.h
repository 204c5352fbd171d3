#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace wsgate::ws {

// Close status codes (RFC 6455 section 7.4, IANA registry) and the ones wsgate uses itself.
namespace close_code {
inline constexpr uint16_t kNormal = 1000;
inline constexpr uint16_t kGoingAway = 1001;
inline constexpr uint16_t kProtocolError = 1002;
inline constexpr uint16_t kUnsupportedData = 1003;
inline constexpr uint16_t kNoStatus = 1005; // never on the wire: close frame without a code
inline constexpr uint16_t kAbnormal = 1006; // never on the wire: TCP closed without a close
inline constexpr uint16_t kInvalidPayload = 1007;
inline constexpr uint16_t kPolicyViolation = 1008;
inline constexpr uint16_t kMessageTooBig = 1009;
inline constexpr uint16_t kMandatoryExtension = 1010;
inline constexpr uint16_t kInternalError = 1011;
inline constexpr uint16_t kServiceRestart = 1012;
inline constexpr uint16_t kTryAgainLater = 1013;
inline constexpr uint16_t kBadGateway = 1014;
inline constexpr uint16_t kTlsHandshake = 1015; // never on the wire
inline constexpr uint16_t kAuthExpired = 4001;
inline constexpr uint16_t kRateLimited = 4002;
inline constexpr uint16_t kSessionExpired = 4003;
} // namespace close_code

// True for codes an endpoint may put in a close frame: 1000-1003, 1007-1014, 3000-4999.
bool isValidCloseCode(uint16_t code);

// A short lower-case name for logs ("message too big"), "private" for 4000-4999,
// "registered" for 3000-3999, "invalid" otherwise.
const char* closeCodeName(uint16_t code);

// "1009 message too big".
std::string describeCloseCode(uint16_t code);

// The payload of a close frame: an optional code and a UTF-8 reason.
struct ClosePayload {
  uint16_t code = close_code::kNoStatus; // kNoStatus when the frame carried no code
  std::string_view reason;               // points into the parsed payload
};

enum class CloseParseError : uint8_t { None, OneByte, InvalidCode, InvalidUtf8 };

// Parses an unmasked close payload. The returned reason refers to `payload`'s bytes.
CloseParseError parseClosePayload(std::span<const uint8_t> payload, ClosePayload& out);

// The longest reason that fits a close frame (125 - 2 code bytes).
inline constexpr std::size_t kMaxCloseReason = 123;

// Cuts `reason` to at most `max` bytes without splitting a UTF-8 sequence.
std::string_view truncateUtf8(std::string_view reason, std::size_t max = kMaxCloseReason);

} // namespace wsgate::ws
