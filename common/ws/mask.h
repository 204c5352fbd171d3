#pragma once

#include "common/ws/frame.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace wsgate::ws {

// XORs `data` in place with `key`, as if `data` began `offset` bytes into a masked payload
// (RFC 6455 section 5.3). Works a machine word at a time; returns the offset after `data`
// modulo 4, for the next chunk of the same payload.
std::size_t unmaskInPlace(std::span<uint8_t> data, const MaskKey& key, std::size_t offset);

// The same, writing to `out` (which must hold in.size() bytes) and leaving `in` untouched.
std::size_t unmaskCopy(std::span<const uint8_t> in, uint8_t* out, const MaskKey& key,
                       std::size_t offset);

} // namespace wsgate::ws
