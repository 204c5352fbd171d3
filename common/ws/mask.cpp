#include "common/ws/mask.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace wsgate::ws {
namespace {

// The key as it applies from a payload position `offset` (mod 4) onwards, repeated to fill a
// 64-bit word. Built through memcpy, so byte i of the word in memory is key byte (offset+i)%4
// whatever the machine's byte order.
uint64_t wideKey(const MaskKey& key, std::size_t offset) {
  uint8_t bytes[8];
  for (std::size_t i = 0; i < 8; ++i)
    bytes[i] = key[(offset + i) & 3];
  uint64_t wide;
  std::memcpy(&wide, bytes, sizeof wide);
  return wide;
}

// XORs n bytes from `in` into `out` (which may equal `in`), the first byte at payload position
// `offset`. Loads and stores go through memcpy, so any alignment is fine.
void xorKey(const uint8_t* in, uint8_t* out, std::size_t n, const MaskKey& key,
            std::size_t offset) {
  std::size_t i = 0;
  // Head: single bytes until `out` is 8-byte aligned, so the word stores do not split lines.
  while (i < n && (reinterpret_cast<std::uintptr_t>(out + i) & 7) != 0) {
    out[i] = in[i] ^ key[(offset + i) & 3];
    ++i;
  }
  const uint64_t wide = wideKey(key, offset + i);
  // Each word starts a multiple of 8 bytes after `i`, so the same rotated key applies to all.
#if defined(__SSE2__)
  const __m128i wide128 = _mm_set1_epi64x(static_cast<long long>(wide));
  for (; n - i >= 64; i += 64) {
    const auto* src = reinterpret_cast<const __m128i*>(in + i);
    auto* dst = reinterpret_cast<__m128i*>(out + i);
    const __m128i a = _mm_xor_si128(_mm_loadu_si128(src), wide128);
    const __m128i b = _mm_xor_si128(_mm_loadu_si128(src + 1), wide128);
    const __m128i c = _mm_xor_si128(_mm_loadu_si128(src + 2), wide128);
    const __m128i d = _mm_xor_si128(_mm_loadu_si128(src + 3), wide128);
    _mm_storeu_si128(dst, a);
    _mm_storeu_si128(dst + 1, b);
    _mm_storeu_si128(dst + 2, c);
    _mm_storeu_si128(dst + 3, d);
  }
#endif
  for (; n - i >= 32; i += 32) {
    uint64_t w[4];
    std::memcpy(w, in + i, sizeof w);
    w[0] ^= wide;
    w[1] ^= wide;
    w[2] ^= wide;
    w[3] ^= wide;
    std::memcpy(out + i, w, sizeof w);
  }
  for (; n - i >= 8; i += 8) {
    uint64_t w;
    std::memcpy(&w, in + i, sizeof w);
    w ^= wide;
    std::memcpy(out + i, &w, sizeof w);
  }
  for (; i < n; ++i)
    out[i] = in[i] ^ key[(offset + i) & 3];
}

} // namespace

std::size_t unmaskInPlace(std::span<uint8_t> data, const MaskKey& key, std::size_t offset) {
  xorKey(data.data(), data.data(), data.size(), key, offset);
  return (offset + data.size()) & 3;
}

std::size_t unmaskCopy(std::span<const uint8_t> in, uint8_t* out, const MaskKey& key,
                       std::size_t offset) {
  xorKey(in.data(), out, in.size(), key, offset);
  return (offset + in.size()) & 3;
}

} // namespace wsgate::ws
