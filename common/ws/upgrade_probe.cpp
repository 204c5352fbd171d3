#include "common/ws/upgrade_probe.h"

#include "common/ws/close.h"
#include "common/ws/frame_writer.h"
#include "common/ws/handshake.h"
#include "common/ws/upgrade.h"

namespace wsgate::ws {

std::string buildProbeRequest(std::string_view path, std::string_view host, std::string_view key) {
  std::string out;
  out.reserve(160 + path.size() + host.size());
  out.append("GET ").append(path).append(" HTTP/1.1\r\nHost: ").append(host);
  out.append("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
  out.append(key);
  out.append("\r\nSec-WebSocket-Version: 13\r\nUser-Agent: wsgate-health/" WSGATE_VERSION
             "\r\n\r\n");
  return out;
}

ProbeVerdict judgeProbeResponse(const http::Response& response, std::string_view key) {
  switch (checkSwitching(response, key)) {
  case ResponseError::None:
    return {true, ""};
  case ResponseError::NotSwitching:
    return {false, "answered " + std::to_string(response.status) + " " + response.reason +
                       " instead of 101"};
  case ResponseError::NotHttp11:
    return {false, "answered 101 in a version other than HTTP/1.1"};
  case ResponseError::NoUpgradeHeaders:
    return {false, "the 101 lacks 'Upgrade: websocket' or 'Connection: Upgrade'"};
  default: // AcceptCount or WrongAccept: checkSwitching() judges nothing else
    return {false, "wrong Sec-WebSocket-Accept"};
  }
}

std::string probeCloseFrame() {
  const MaskKey mask = randomMaskKey();
  const ControlFrame frame = ControlFrame::close(close_code::kNormal, "", &mask);
  const auto bytes = frame.bytes();
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

} // namespace wsgate::ws
