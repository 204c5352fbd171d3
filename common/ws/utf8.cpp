#include "common/ws/utf8.h"

#include <bit>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace wsgate::ws {
namespace {

constexpr uint8_t kAccept = Utf8Validator::kAccept;
constexpr uint8_t kReject = Utf8Validator::kReject;

// States between the bytes of one code point. Each names what the next byte must be; kAccept
// (between code points) and kReject (sticky failure) are declared in the header.
constexpr uint8_t kNeed1 = 2;   // one continuation byte 80..BF, then a code point ends
constexpr uint8_t kNeed2 = 3;   // two continuation bytes
constexpr uint8_t kNeed3 = 4;   // three continuation bytes
constexpr uint8_t kAfterE0 = 5; // A0..BF: below is an overlong 3-byte form
constexpr uint8_t kAfterED = 6; // 80..9F: above is a UTF-16 surrogate D800..DFFF
constexpr uint8_t kAfterF0 = 7; // 90..BF: below is an overlong 4-byte form
constexpr uint8_t kAfterF4 = 8; // 80..8F: above is beyond U+10FFFF
constexpr uint8_t kStateCount = 9;

// For each state after a lead byte: the range the next byte must fall in and the state after it.
struct Expect {
  uint8_t lo;
  uint8_t hi;
  uint8_t next;
};

constexpr Expect kExpect[kStateCount] = {
    {0, 0, kReject},       // kAccept: unused, lead bytes go through kLead
    {1, 0, kReject},       // kReject: an empty range, nothing is accepted
    {0x80, 0xBF, kAccept}, // kNeed1
    {0x80, 0xBF, kNeed1},  // kNeed2
    {0x80, 0xBF, kNeed2},  // kNeed3
    {0xA0, 0xBF, kNeed1},  // kAfterE0
    {0x80, 0x9F, kNeed1},  // kAfterED
    {0x90, 0xBF, kNeed2},  // kAfterF0
    {0x80, 0x8F, kNeed2},  // kAfterF4
};

constexpr uint8_t leadState(unsigned b) {
  if (b < 0x80) return kAccept;
  if (b < 0xC2) return kReject; // a lone continuation byte, or C0/C1 (always overlong)
  if (b < 0xE0) return kNeed1;
  if (b == 0xE0) return kAfterE0;
  if (b == 0xED) return kAfterED;
  if (b < 0xF0) return kNeed2;
  if (b == 0xF0) return kAfterF0;
  if (b < 0xF4) return kNeed3;
  if (b == 0xF4) return kAfterF4;
  return kReject; // F5..FF never occur in UTF-8
}

struct LeadTable {
  uint8_t state[256];
};

constexpr LeadTable makeLeadTable() {
  LeadTable t{};
  for (unsigned b = 0; b < 256; ++b) {
    t.state[b] = leadState(b);
  }
  return t;
}

constexpr LeadTable kLead = makeLeadTable();

// Both bounds are compared, so the kReject entry's range (lo > hi) is empty.
inline bool inRange(uint8_t b, const Expect& e) {
  return (b >= e.lo) & (b <= e.hi);
}

// One byte through the state machine, for the few bytes where a code point may straddle a call.
inline uint8_t step(uint8_t state, uint8_t b) {
  if (state == kAccept) return kLead.state[b];
  const Expect& e = kExpect[state];
  return inRange(b, e) ? e.next : kReject;
}

inline bool isContinuation(uint8_t b) {
  return (b & 0xC0) == 0x80;
}

#if defined(__SSE2__)
inline __m128i load16(const uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}
#endif

// Returns the first byte at or after `p` that is not ASCII, or `end`.
inline const uint8_t* skipAscii(const uint8_t* p, const uint8_t* end) {
#if defined(__SSE2__)
  while (end - p >= 32) {
    const __m128i a = load16(p);
    const __m128i b = load16(p + 16);
    const unsigned bits = static_cast<unsigned>(_mm_movemask_epi8(a)) |
                          (static_cast<unsigned>(_mm_movemask_epi8(b)) << 16);
    if (bits != 0) return p + std::countr_zero(bits);
    p += 32;
  }
  if (end - p >= 16) {
    const auto bits = static_cast<unsigned>(_mm_movemask_epi8(load16(p)));
    if (bits != 0) return p + std::countr_zero(bits);
    p += 16;
  }
#else
  constexpr uint64_t kHighBits = 0x8080808080808080ULL;
  while (end - p >= 16) {
    uint64_t a;
    uint64_t b;
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + 8, 8);
    if (((a | b) & kHighBits) != 0) break;
    p += 16;
  }
  if (end - p >= 8) {
    uint64_t a;
    std::memcpy(&a, p, 8);
    if ((a & kHighBits) == 0) p += 8;
  }
#endif
  while (p < end && *p < 0x80) {
    ++p;
  }
  return p;
}

// Checks one whole multi-byte sequence starting at lead byte p[0] >= 0x80, with at least four
// bytes readable from p. Returns the byte after it, or nullptr if the sequence is invalid.
inline const uint8_t* checkSequence(const uint8_t* p) {
  const uint8_t b0 = p[0];
  if (b0 < 0xE0) {
    // Lone continuation bytes (80..BF) and the overlong leads C0, C1 fail the first test.
    if (b0 < 0xC2 || !isContinuation(p[1])) return nullptr;
    return p + 2;
  }
  const Expect& e = kExpect[kLead.state[b0]];
  const bool second = inRange(p[1], e);
  if (b0 < 0xF0) {
    if (!(second & isContinuation(p[2]))) return nullptr;
    return p + 3;
  }
  // F5..FF map to kReject, whose range is empty, so `second` is false for them.
  const bool rest = static_cast<uint8_t>((p[2] ^ 0x80) | (p[3] ^ 0x80)) < 0x40;
  if (!(second & rest)) return nullptr;
  return p + 4;
}

#if defined(__SSE2__)
// Checks 16 bytes `cur` given the three bytes before each of them (`prev1` holds the byte one
// position earlier, and so on). Returns a vector that is nonzero in each byte that breaks
// RFC 3629. Lengths are checked structurally: a byte must be a continuation exactly when a
// lead byte 1, 2 or 3 positions back calls for one; the lead-specific limits on the second
// byte are then checked against the byte one back. Signed compares see 00..7F as 0..127 and
// 80..FF as -128..-1; unsigned "b > x" is the saturating difference b - x being nonzero.
inline __m128i blockErrors(__m128i cur, __m128i prev1, __m128i prev2, __m128i prev3) {
  const auto splat = [](int b) { return _mm_set1_epi8(static_cast<char>(b)); };
  const __m128i zero = _mm_setzero_si128();
  const __m128i is_cont = _mm_cmplt_epi8(cur, splat(0xC0)); // 80..BF
  // Nonzero (and below 0x80) where a lead byte C0..FF, E0..FF or F0..FF calls for this byte.
  const __m128i want = _mm_or_si128(
      _mm_or_si128(_mm_subs_epu8(prev1, splat(0xBF)), _mm_subs_epu8(prev2, splat(0xDF))),
      _mm_subs_epu8(prev3, splat(0xEF)));
  __m128i err = _mm_xor_si128(is_cont, _mm_cmpgt_epi8(want, zero));
  // C0 and C1 only begin overlong forms; F5..FF never occur.
  err = _mm_or_si128(err, _mm_cmpeq_epi8(_mm_and_si128(cur, splat(0xFE)), splat(0xC0)));
  err = _mm_or_si128(err, _mm_subs_epu8(cur, splat(0xF4)));
  // E0 needs A0..BF (else overlong), ED 80..9F (else a surrogate), F0 90..BF (else overlong),
  // F4 80..8F (else above U+10FFFF). An ASCII byte after ED or F4 is flagged twice, which is
  // harmless: it already breaks the structure.
  const auto after = [&](int lead, __m128i bad) {
    return _mm_and_si128(_mm_cmpeq_epi8(prev1, splat(lead)), bad);
  };
  const __m128i e0 = after(0xE0, _mm_cmplt_epi8(cur, splat(0xA0)));
  const __m128i ed = after(0xED, _mm_cmpgt_epi8(cur, splat(0x9F)));
  const __m128i f0 = after(0xF0, _mm_cmplt_epi8(cur, splat(0x90)));
  const __m128i f4 = after(0xF4, _mm_cmpgt_epi8(cur, splat(0x8F)));
  return _mm_or_si128(err, _mm_or_si128(_mm_or_si128(e0, ed), _mm_or_si128(f0, f4)));
}

inline bool anyNonzero(__m128i v) {
  return _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128())) != 0xFFFF;
}

// Validates 16-byte blocks from `p`, which must be between code points, while 16 bytes remain
// and the text is not plain ASCII. Returns a position between code points from which to go
// on, or nullptr on invalid input.
const uint8_t* validateBlocks(const uint8_t* p, const uint8_t* end) {
  const uint8_t* const begin = p;
  // The first block has no context: nothing before a code point boundary reaches past it, so
  // the bytes before `p` may as well be zeros.
  __m128i cur = load16(p);
  __m128i err =
      blockErrors(cur, _mm_slli_si128(cur, 1), _mm_slli_si128(cur, 2), _mm_slli_si128(cur, 3));
  if (anyNonzero(err)) return nullptr;
  p += 16;
  while (end - p >= 16) {
    cur = load16(p);
    err = blockErrors(cur, load16(p - 1), load16(p - 2), load16(p - 3));
    if (anyNonzero(err)) return nullptr;
    p += 16;
    // A valid all-ASCII block ends on a boundary; let the faster ASCII loop take over.
    if (_mm_movemask_epi8(cur) == 0) return p;
  }
  // `p` may be inside a code point. Back up to its lead byte: the blocks proved the structure,
  // so at most three continuation bytes precede it, all after `begin`.
  const uint8_t* q = p;
  while (q > begin && isContinuation(q[-1])) {
    --q;
  }
  if (q > begin && q[-1] >= 0xC0) --q;
  return q;
}
#endif

// Validates whole code points from `p`, which must be between code points, and stops between
// code points with fewer than four bytes left (a sequence there may run past `end`). Returns
// where it stopped, or nullptr on invalid input.
const uint8_t* validateWhole(const uint8_t* p, const uint8_t* end) {
  for (;;) {
    p = skipAscii(p, end);
    // Here p == end or *p is a lead byte (or an invalid one).
#if defined(__SSE2__)
    if (end - p >= 32) {
      p = validateBlocks(p, end);
      if (p == nullptr) return nullptr;
      continue;
    }
#endif
    while (end - p >= 4 && *p >= 0x80) {
      p = checkSequence(p);
      if (p == nullptr) return nullptr;
    }
    if (end - p < 4) return p;
  }
}

} // namespace

bool Utf8Validator::feed(std::span<const uint8_t> bytes) {
  const uint8_t* p = bytes.data();
  const uint8_t* const end = p + bytes.size();
  // Finish a code point begun in an earlier call.
  while (state_ != kAccept && state_ != kReject && p < end) {
    state_ = step(state_, *p++);
  }
  if (state_ != kAccept) return state_ != kReject;
  if (end - p >= 4) {
    p = validateWhole(p, end);
    if (p == nullptr) {
      state_ = kReject;
      return false;
    }
  }
  // Fewer than four bytes are left, or a code point that runs past `end`.
  while (p < end && state_ != kReject) {
    state_ = step(state_, *p++);
  }
  return state_ != kReject;
}

} // namespace wsgate::ws
