#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace wsgate::ws {

// Streaming UTF-8 validator for RFC 3629 (no overlong forms, no surrogates, nothing above
// U+10FFFF). Feed any split of a byte stream; state carries across calls, so a code point may
// straddle chunks, frames and message fragments. It fails at the first byte that proves the
// input invalid, and stays failed until reset().
class Utf8Validator {
public:
  // Returns false as soon as the bytes seen so far cannot be the prefix of valid UTF-8.
  bool feed(std::span<const uint8_t> bytes);
  // True when everything fed is complete, valid UTF-8 (no truncated sequence at the end).
  bool finish() const { return state_ == kAccept; }
  bool failed() const { return state_ == kReject; }
  void reset() { state_ = kAccept; }

  static constexpr uint8_t kAccept = 0;
  static constexpr uint8_t kReject = 1;

  // Validates a complete buffer in one call.
  static bool validate(std::span<const uint8_t> bytes) {
    Utf8Validator v;
    return v.feed(bytes) && v.finish();
  }

private:
  uint8_t state_ = kAccept;
};

} // namespace wsgate::ws
