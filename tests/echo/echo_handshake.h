#pragma once

#include "common/http/headers.h"
#include "common/http/parser.h"

#include <string>
#include <string_view>

namespace wsgate::echo {

// The answer to an upgrade request: 101 with the accept value, or an HTTP error.
struct UpgradeDecision {
  int status = 101;         // 101, or the error status to answer
  const char* reason = "";  // why the request was refused (static storage)
  std::string accept;       // Sec-WebSocket-Accept, when status is 101
  std::string protocol;     // the selected subprotocol (the first one offered), or empty
  bool bad_version = false; // refused for Sec-WebSocket-Version: advertise 13
  std::string extensions;   // the accepted Sec-WebSocket-Extensions, or empty
};

// The answer to a permessage-deflate offer when the echo accepts one (--deflate): the first
// well-formed offer with its no_context_takeover flags reflected; empty when none.
std::string acceptDeflate(const http::HeaderList& headers);

// Validates a WebSocket upgrade request (RFC 6455 section 4.2.1): GET over HTTP/1.1 without a
// body, Upgrade listing "websocket", Connection listing "upgrade", one valid Sec-WebSocket-Key
// and Sec-WebSocket-Version 13. Extensions are never negotiated.
UpgradeDecision checkUpgrade(const http::Request& request);

// "HTTP/1.1 101 Switching Protocols" with Upgrade, Connection, Sec-WebSocket-Accept and, when
// `protocol` is not empty, Sec-WebSocket-Protocol.
std::string buildSwitchingProtocols(std::string_view accept, std::string_view protocol,
                                    std::string_view extensions = {});

// The refusal for a failed check: `status` with a one-line body; a version mismatch also
// advertises Sec-WebSocket-Version: 13.
std::string buildRefusal(const UpgradeDecision& decision);

// A JSON object of the request headers: lower-case names in order of first arrival, repeated
// fields joined by ", ". Bytes above 0x7E are escaped as \u00XX (read as Latin-1), so the
// result is always ASCII and fits a text message.
std::string headersJson(const http::HeaderList& headers);

} // namespace wsgate::echo
