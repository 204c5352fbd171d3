#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wsgate::echo {

// What a connection does once its upgrade request is read, chosen by the path of the request
// target (the query only carries parameters). Any path not listed here echoes.
enum class Mode : uint8_t {
  Echo,      // any path: echo every data frame, answer pings, reply to close
  Flood,     // /flood?bytes=N&size=S: send N bytes in binary messages of S bytes, then close 1000
  Close,     // /close?code=C&reason=R: send a close frame right after the upgrade
  Drop,      // /drop: close TCP right after the upgrade, without a close frame
  Headers,   // /headers: send the request headers as one JSON text message, then echo
  Slow,      // /slow: never answer the upgrade request
  Reject,    // /reject?status=S: answer HTTP status S instead of upgrading
  BadAccept, // /badaccept: answer 101 with a wrong Sec-WebSocket-Accept
  Ping,      // /ping?interval_ms=N: echo, and send a ping "app-ping" every N ms
};

const char* toString(Mode mode);

struct Route {
  Mode mode = Mode::Echo;
  uint64_t flood_bytes = uint64_t{1024} * 1024;
  uint64_t flood_size = uint64_t{64} * 1024; // payload bytes per flood message, 1 .. kMaxFloodSize
  uint16_t close_code = 1000; // sent as is, valid on the wire or not; 1005 = empty payload
  std::string close_reason;   // percent-decoded; cut to 123 bytes when sent
  int reject_status = 403;    // 200 .. 599
  uint64_t ping_interval_ms = 1000;
};

inline constexpr uint64_t kMaxFloodSize = uint64_t{16} * 1024 * 1024;

// Reads the mode and its parameters from a request target ("/flood?bytes=10&size=2"). Missing
// or malformed parameters keep their defaults.
Route parseRoute(std::string_view target);

// Decodes %XX escapes and '+' (a space, as in HTML forms). A malformed escape stays as sent.
std::string percentDecode(std::string_view text);

} // namespace wsgate::echo
