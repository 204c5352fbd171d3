#include "common/ws/frame_writer.h"

#include "common/ws/close.h"
#include "common/ws/mask.h"

#include <algorithm>
#include <cstring>

namespace wsgate::ws {

std::size_t writeFrameHeader(uint8_t* out, bool fin, Opcode opcode, uint64_t length,
                             const MaskKey* mask) {
  std::size_t n = 0;
  out[n++] = static_cast<uint8_t>((fin ? 0x80 : 0) | static_cast<uint8_t>(opcode));
  const uint8_t mask_bit = mask != nullptr ? 0x80 : 0;
  if (length < 126) {
    out[n++] = static_cast<uint8_t>(mask_bit | length);
  } else if (length <= 0xFFFF) {
    out[n++] = static_cast<uint8_t>(mask_bit | 126);
    out[n++] = static_cast<uint8_t>(length >> 8);
    out[n++] = static_cast<uint8_t>(length);
  } else {
    out[n++] = static_cast<uint8_t>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8)
      out[n++] = static_cast<uint8_t>(length >> shift);
  }
  if (mask != nullptr) {
    std::memcpy(out + n, mask->data(), 4);
    n += 4;
  }
  return n;
}

ControlFrame ControlFrame::make(Opcode opcode, std::span<const uint8_t> payload,
                                const MaskKey* mask) {
  ControlFrame frame;
  payload = payload.first(std::min(payload.size(), kMaxControlPayload));
  std::size_t n = writeFrameHeader(frame.bytes_.data(), true, opcode, payload.size(), mask);
  if (mask != nullptr) {
    unmaskCopy(payload, frame.bytes_.data() + n, *mask, 0);
  } else if (!payload.empty()) {
    std::memcpy(frame.bytes_.data() + n, payload.data(), payload.size());
  }
  n += payload.size();
  frame.size_ = static_cast<uint8_t>(n);
  return frame;
}

ControlFrame ControlFrame::close(uint16_t code, std::string_view reason, const MaskKey* mask) {
  std::array<uint8_t, kMaxControlPayload> payload{};
  std::size_t n = 0;
  if (code != close_code::kNoStatus) {
    payload[n++] = static_cast<uint8_t>(code >> 8);
    payload[n++] = static_cast<uint8_t>(code);
    const std::string_view cut = truncateUtf8(reason);
    if (!cut.empty()) std::memcpy(payload.data() + n, cut.data(), cut.size());
    n += cut.size();
  }
  return make(Opcode::Close, std::span<const uint8_t>(payload.data(), n), mask);
}

} // namespace wsgate::ws
