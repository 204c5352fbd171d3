#pragma once

#include "common/http/types.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace wsgate::http {

// Walks the raw bytes of a message head one step ahead of llhttp and finds the first byte that
// breaks a size limit or the line syntax llhttp's loose mode lets through (bare CR or LF,
// obsolete line folding). Because it judges byte positions, not callback boundaries, its
// verdict does not depend on how the input was split.
class HeadScanner {
public:
  struct Result {
    HeadError error = HeadError::None;
    // With an error: offset of the offending byte. At the head's end: offset just past the LF
    // of the empty line. Otherwise: the input's size.
    std::size_t pos = 0;
    bool head_end = false;
  };

  explicit HeadScanner(const Limits& limits) : limits_(limits) {}

  // Scans the next bytes of the stream. After an error or the head's end, the scanner must not
  // be fed again (its owner stops at either).
  Result scan(std::span<const uint8_t> bytes);

private:
  // Invariant: total_ counts every byte scanned; line_length_ counts the bytes of the current
  // line before its CR; headers_ counts the header lines started so far.
  enum class State : uint8_t {
    Leading,   // before the start line: only empty lines (CRLF) may come
    LeadingLf, // after the CR of a leading empty line
    StartLine, // inside the start line
    LineLf,    // after the CR ending a non-empty line
    LineStart, // at the first byte of a header line or of the final empty line
    Header,    // inside a header line
    EndLf,     // after the CR of the final empty line
    Done,      // past the head's final LF
  };

  HeadError step(uint8_t c);
  HeadError countLineByte();

  Limits limits_;
  State state_ = State::Leading;
  bool in_start_line_ = true;
  std::size_t total_ = 0;
  std::size_t line_length_ = 0;
  std::size_t headers_ = 0;
};

} // namespace wsgate::http
