#pragma once

#include <array>
#include <cstdint>

namespace wsgate::ws {

// RFC 6455 section 5.2 opcodes. Values not listed here are reserved.
enum class Opcode : uint8_t {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xA,
};

constexpr bool isControl(Opcode op) {
  return (static_cast<uint8_t>(op) & 0x8) != 0;
}
const char* opcodeName(Opcode op);

// Which endpoint produced the frames a parser reads: frames from a client are masked,
// frames from a server are not.
enum class Role : uint8_t { Client, Server };

using MaskKey = std::array<uint8_t, 4>;

// The largest control frame on the wire: 2 header bytes, 4 mask bytes, 125 payload bytes.
inline constexpr std::size_t kMaxControlPayload = 125;
inline constexpr std::size_t kMaxControlFrame = 2 + 4 + kMaxControlPayload;
// The largest frame header: 2 + 8 (64-bit length) + 4 (mask).
inline constexpr std::size_t kMaxFrameHeader = 14;

struct FrameHeader {
  bool fin = false;
  uint8_t rsv = 0; // RSV1..RSV3 as bits 2..0
  Opcode opcode = Opcode::Continuation;
  bool masked = false;
  MaskKey mask{};
  uint64_t payload_length = 0;
  uint8_t header_length = 0; // bytes on the wire before the payload
};

} // namespace wsgate::ws
