#pragma once

#include "common/ws/frame.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace wsgate::ws {

// Writes a frame header for a payload of `length` bytes into `out` (at least kMaxFrameHeader
// bytes) and returns its size. With `mask` the frame is masked with that key (wsgate as a
// client); the caller masks the payload itself.
std::size_t writeFrameHeader(uint8_t* out, bool fin, Opcode opcode, uint64_t length,
                             const MaskKey* mask = nullptr);

// A complete control frame wsgate sends itself: ping, pong or close. No allocation.
class ControlFrame {
public:
  std::span<const uint8_t> bytes() const { return {bytes_.data(), size_}; }
  std::size_t size() const { return size_; }

  // Payloads over 125 bytes are cut to 125.
  static ControlFrame make(Opcode opcode, std::span<const uint8_t> payload,
                           const MaskKey* mask = nullptr);
  // A close frame with `code` and `reason` (cut to 123 bytes at a UTF-8 boundary). A code of
  // 1005 (no status) gives an empty payload.
  static ControlFrame close(uint16_t code, std::string_view reason, const MaskKey* mask = nullptr);

private:
  std::array<uint8_t, kMaxControlFrame> bytes_{};
  uint8_t size_ = 0;
};

} // namespace wsgate::ws
