#include "tests/unit/support/ws_bytes.h"

#include "common/ws/frame_writer.h"
#include "common/ws/handshake.h"

#include <array>

namespace wsgate::proxy::test {

namespace {

constexpr ws::MaskKey kClientMask = {0x37, 0xfa, 0x21, 0x3d};

Bytes frame(const FrameSpec& spec, const ws::MaskKey* mask) {
  std::array<uint8_t, ws::kMaxFrameHeader> header{};
  const std::size_t size =
      ws::writeFrameHeader(header.data(), spec.fin, spec.opcode, spec.payload.size(), mask);
  header[0] = static_cast<uint8_t>(header[0] | (spec.rsv << 4));
  Bytes out(header.begin(), header.begin() + static_cast<std::ptrdiff_t>(size));
  for (std::size_t i = 0; i < spec.payload.size(); ++i) {
    const auto byte = static_cast<uint8_t>(spec.payload[i]);
    out.push_back(mask != nullptr ? static_cast<uint8_t>(byte ^ (*mask)[i % 4]) : byte);
  }
  return out;
}

} // namespace

Bytes clientFrame(const FrameSpec& spec) {
  return frame(spec, &kClientMask);
}

Bytes serverFrame(const FrameSpec& spec) {
  return frame(spec, nullptr);
}

std::string closePayload(uint16_t code, std::string_view reason) {
  std::string out;
  out += static_cast<char>(code >> 8);
  out += static_cast<char>(code & 0xff);
  out += reason;
  return out;
}

Bytes clientClose(uint16_t code, std::string_view reason) {
  const std::string payload = closePayload(code, reason);
  return clientFrame({ws::Opcode::Close, payload});
}

Bytes serverClose(uint16_t code, std::string_view reason) {
  const std::string payload = closePayload(code, reason);
  return serverFrame({ws::Opcode::Close, payload});
}

Bytes concat(std::initializer_list<std::span<const uint8_t>> parts) {
  Bytes out;
  for (const auto part : parts)
    out.insert(out.end(), part.begin(), part.end());
  return out;
}

uint16_t Frame::closeCode() const {
  if (payload.size() < 2) return 0;
  return static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                               static_cast<uint8_t>(payload[1]));
}

std::string Frame::closeReason() const {
  return payload.size() < 2 ? std::string() : payload.substr(2);
}

Decoded decodeFrames(std::span<const uint8_t> bytes) {
  Decoded out;
  std::size_t at = 0;
  while (at < bytes.size()) {
    const std::size_t left = bytes.size() - at;
    if (left < 2) break;
    const uint8_t b0 = bytes[at];
    const uint8_t b1 = bytes[at + 1];
    std::size_t header = 2;
    uint64_t length = b1 & 0x7f;
    const std::size_t extended = length == 126 ? 2 : length == 127 ? 8 : 0;
    if (left < header + extended) break;
    if (extended != 0) {
      length = 0;
      for (std::size_t i = 0; i < extended; ++i)
        length = (length << 8) | bytes[at + 2 + i];
    }
    header += extended;
    const bool masked = (b1 & 0x80) != 0;
    ws::MaskKey mask{};
    if (masked) {
      if (left < header + 4) break;
      for (std::size_t i = 0; i < 4; ++i)
        mask[i] = bytes[at + header + i];
      header += 4;
    }
    if (left < header + length) break;
    Frame f;
    f.fin = (b0 & 0x80) != 0;
    f.rsv = static_cast<uint8_t>((b0 >> 4) & 0x7);
    f.opcode = static_cast<ws::Opcode>(b0 & 0x0f);
    f.masked = masked;
    f.payload.resize(length);
    for (std::size_t i = 0; i < length; ++i) {
      const uint8_t byte = bytes[at + header + i];
      f.payload[i] = static_cast<char>(masked ? byte ^ mask[i % 4] : byte);
    }
    out.frames.push_back(std::move(f));
    at += header + length;
  }
  out.trailing = bytes.size() - at;
  return out;
}

Decoded decodeFramesAfter(std::span<const uint8_t> bytes, std::size_t skip) {
  return decodeFrames(skip < bytes.size() ? bytes.subspan(skip) : std::span<const uint8_t>());
}

std::string describe(const std::vector<Frame>& frames) {
  std::string out;
  for (const Frame& f : frames) {
    if (!out.empty()) out += ' ';
    switch (f.opcode) {
    case ws::Opcode::Close:
      out += "close(" + std::to_string(f.closeCode()) + "," + f.closeReason() + ")";
      continue;
    case ws::Opcode::Text:
      out += "text";
      break;
    case ws::Opcode::Binary:
      out += "binary";
      break;
    case ws::Opcode::Continuation:
      out += "cont";
      break;
    case ws::Opcode::Ping:
      out += "ping";
      break;
    case ws::Opcode::Pong:
      out += "pong";
      break;
    default:
      out += "op" + std::to_string(static_cast<int>(f.opcode));
      break;
    }
    out += f.payload.size() <= 32 ? "(" + f.payload + ")"
                                  : "[" + std::to_string(f.payload.size()) + "]";
    if (!f.fin) out += "~";
  }
  return out;
}

std::string upgradeRequest(std::string_view path, std::string_view extra_headers) {
  std::string out = "GET ";
  out += path;
  out += " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ";
  out += kClientKey;
  out += "\r\n";
  out += extra_headers;
  out += "\r\n";
  return out;
}

std::string backend101(std::string_view key, std::string_view extra_headers) {
  std::string out = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Accept: ";
  out += ws::computeAccept(key);
  out += "\r\n";
  out += extra_headers;
  out += "\r\n";
  return out;
}

std::string keyOfRequest(std::string_view request) {
  constexpr std::string_view kName = "\r\nSec-WebSocket-Key: ";
  const std::size_t at = request.find(kName);
  if (at == std::string_view::npos) return "";
  const std::size_t from = at + kName.size();
  return std::string(request.substr(from, request.find("\r\n", from) - from));
}

} // namespace wsgate::proxy::test
