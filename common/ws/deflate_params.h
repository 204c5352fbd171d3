#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// permessage-deflate (RFC 7692) negotiation as a proxy sees it: the client's offers pass to the
// backend, and the backend's answer in the 101 must fit one of them. Pure functions on header
// values; no I/O.
namespace wsgate::ws {

inline constexpr std::string_view kPermessageDeflate = "permessage-deflate";
inline constexpr uint8_t kMinWindowBits = 8;
inline constexpr uint8_t kMaxWindowBits = 15;

// The parameters of one permessage-deflate element (an offer or the answer). A window-bits field
// is nullopt when the parameter is absent and 0 when it is present without a value (allowed for
// client_max_window_bits in an offer only).
struct DeflateParams {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  std::optional<uint8_t> server_max_window_bits;
  std::optional<uint8_t> client_max_window_bits;
};

// How each direction of a session compresses once the answer is accepted.
struct DeflateDirection {
  uint8_t window_bits = kMaxWindowBits; // the LZ77 window the sender may use
  bool no_context_takeover = false;     // each message starts with an empty window
};
struct DeflateSession {
  DeflateDirection client; // messages the client sends
  DeflateDirection server; // messages the backend sends
};

// Sec-WebSocket-Extensions as the client sent it (all its fields joined by ", "): the
// permessage-deflate elements, each exactly as written (parameters included), joined by ", ";
// other extensions are dropped (wsgate cannot look inside them). "" when none is left.
// `offers` gets the parameters of each kept element that is well formed; a malformed element is
// kept in the string (the backend judges the client's offer) but not in `offers`.
std::string keepDeflateOffers(std::string_view value, std::vector<DeflateParams>& offers);

// Why an answer is refused (DeflateAnswer::error).
enum class DeflateAnswerError : uint8_t {
  None,
  Malformed,  // not a valid extension list, or a parameter or value RFC 7692 does not allow
  NotOffered, // an extension the client did not offer, or more than one
  InconsistentWithOffer, // parameters no offer allows (RFC 7692 section 7.1)
};

struct DeflateAnswer {
  DeflateAnswerError error = DeflateAnswerError::None;
  std::string reason; // why, for the 502 body; empty when accepted
  DeflateSession session;
  bool ok() const { return error == DeflateAnswerError::None; }
};

// Checks the backend's Sec-WebSocket-Extensions (all its fields joined) against the client's
// well-formed offers (keepDeflateOffers). Accepted when it is exactly one permessage-deflate
// element whose parameters one of the offers allows.
DeflateAnswer checkDeflateAnswer(std::string_view value, const std::vector<DeflateParams>& offers);

} // namespace wsgate::ws
