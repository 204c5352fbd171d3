#pragma once

// Real WebSocket bytes for session tests: frames as a client (masked) or a server (unmasked)
// sends them, a decoder for what a peer received (independent of wsgate's parser), and the
// upgrade request and 101 response.
#include "common/ws/frame.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::proxy::test {

using Bytes = std::vector<uint8_t>;

struct FrameSpec {
  ws::Opcode opcode = ws::Opcode::Text;
  std::string_view payload;
  bool fin = true;
  uint8_t rsv = 0; // RSV1..RSV3 as bits 2..0
};

// A frame as a client sends it: masked with a fixed key.
Bytes clientFrame(const FrameSpec& spec);
// A frame as a server sends it: unmasked.
Bytes serverFrame(const FrameSpec& spec);
// A close payload: the code in network order, then the reason.
std::string closePayload(uint16_t code, std::string_view reason);
Bytes clientClose(uint16_t code, std::string_view reason);
Bytes serverClose(uint16_t code, std::string_view reason);
Bytes concat(std::initializer_list<std::span<const uint8_t>> parts);

struct Frame {
  bool fin = false;
  uint8_t rsv = 0;
  ws::Opcode opcode = ws::Opcode::Continuation;
  bool masked = false;
  std::string payload; // unmasked
  // For a close frame: its code (0 without one) and reason.
  uint16_t closeCode() const;
  std::string closeReason() const;
};

struct Decoded {
  std::vector<Frame> frames;
  std::size_t trailing = 0; // bytes of an unfinished frame at the end
};

// Decodes the frames in `bytes` (no validation beyond the framing).
Decoded decodeFrames(std::span<const uint8_t> bytes);
// The frames after the first `skip` bytes (the HTTP response on a client stream).
Decoded decodeFramesAfter(std::span<const uint8_t> bytes, std::size_t skip);
// "text(hello) ping(wsgate-hb:1) close(1000,bye)": for assertions on a whole exchange.
std::string describe(const std::vector<Frame>& frames);

inline constexpr std::string_view kClientKey = "dGhlIHNhbXBsZSBub25jZQ==";

// A client's upgrade request for `path` with Host 127.0.0.1 and kClientKey.
std::string upgradeRequest(std::string_view path, std::string_view extra_headers = "");
// The backend's 101 for `key`, with the Sec-WebSocket-Accept RFC 6455 asks for.
std::string backend101(std::string_view key, std::string_view extra_headers = "");
// The Sec-WebSocket-Key a forwarded request carries ("" when there is none).
std::string keyOfRequest(std::string_view request);

} // namespace wsgate::proxy::test
