#pragma once

#include "common/ws/frame.h"

#include <string>
#include <string_view>

namespace wsgate::ws {

// The GUID of RFC 6455 section 1.3, appended to the key before hashing.
inline constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// True when `key` is the base64 encoding of exactly 16 bytes (24 characters, "==" padding),
// as RFC 6455 section 4.1 requires of Sec-WebSocket-Key.
bool isValidKey(std::string_view key);

// Sec-WebSocket-Accept for `key`: base64(SHA-1(key + GUID)).
std::string computeAccept(std::string_view key);

// A fresh random Sec-WebSocket-Key (for wsgate's own probes and tools).
std::string generateKey();

// A masking key for a frame wsgate sends as a client, from OpenSSL's CSPRNG (RFC 6455
// section 5.3 asks for a strong source of entropy).
MaskKey randomMaskKey();

} // namespace wsgate::ws
