#pragma once

// The health probe's WebSocket upgrade, without I/O: the request a probe sends and the
// verdict on the backend's answer. proxy/balancer/ sends and reads the bytes.

#include "common/http/parser.h"

#include <string>
#include <string_view>

namespace wsgate::ws {

// "GET path HTTP/1.1" with Host, Upgrade, Connection, Sec-WebSocket-Key `key`,
// Sec-WebSocket-Version 13 and a User-Agent naming the probe. `path` and `host` hold no
// spaces or control characters (the config loader checks them).
std::string buildProbeRequest(std::string_view path, std::string_view host, std::string_view key);

// How a probe's answer is judged.
struct ProbeVerdict {
  bool healthy = false;
  std::string reason; // why not, for the backend_down line: "answered 500 Internal Server Error"
};

// Healthy exactly when `response` is an HTTP/1.1 101 with Upgrade: websocket, Connection:
// Upgrade and one Sec-WebSocket-Accept equal to computeAccept(key) (checkSwitching(), the checks a
// session's 101 passes too).
ProbeVerdict judgeProbeResponse(const http::Response& response, std::string_view key);

// The masked close frame (code 1000) the probe sends after a 101, as bytes.
std::string probeCloseFrame();

} // namespace wsgate::ws
