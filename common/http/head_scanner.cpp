#include "common/http/head_scanner.h"

namespace wsgate::http {

HeadScanner::Result HeadScanner::scan(std::span<const uint8_t> bytes) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const HeadError error = step(bytes[i]);
    if (error != HeadError::None) return Result{error, i, false};
    if (state_ == State::Done) return Result{HeadError::None, i + 1, true};
  }
  return Result{HeadError::None, bytes.size(), false};
}

// One byte of a start line or header line that is not a line ending.
HeadError HeadScanner::countLineByte() {
  if (++line_length_ > limits_.max_header_line) {
    return in_start_line_ ? HeadError::StartLineTooLong : HeadError::HeaderLineTooLong;
  }
  return HeadError::None;
}

// Judges one byte. The checks run in a fixed order (head size, line syntax, header count, line
// length), so a byte that breaks several rules always reports the same one.
HeadError HeadScanner::step(uint8_t c) {
  if (++total_ > limits_.max_header_bytes) return HeadError::HeadersTooLarge;
  const bool cr = c == '\r';
  const bool lf = c == '\n';
  switch (state_) {
  case State::Leading:
    if (lf) return HeadError::BadLineEnding;
    if (cr) {
      state_ = State::LeadingLf;
      return HeadError::None;
    }
    state_ = State::StartLine;
    return countLineByte();
  case State::LeadingLf:
    if (!lf) return HeadError::BadLineEnding;
    state_ = State::Leading;
    return HeadError::None;
  case State::StartLine:
  case State::Header:
    if (lf) return HeadError::BadLineEnding;
    if (cr) {
      state_ = State::LineLf;
      return HeadError::None;
    }
    return countLineByte();
  case State::LineLf:
    if (!lf) return HeadError::BadLineEnding;
    state_ = State::LineStart;
    in_start_line_ = false;
    line_length_ = 0;
    return HeadError::None;
  case State::LineStart:
    if (lf) return HeadError::BadLineEnding;
    if (cr) {
      state_ = State::EndLf;
      return HeadError::None;
    }
    if (c == ' ' || c == '\t') return HeadError::ObsoleteLineFolding;
    if (++headers_ > limits_.max_headers) return HeadError::TooManyHeaders;
    state_ = State::Header;
    return countLineByte();
  case State::EndLf:
    if (!lf) return HeadError::BadLineEnding;
    state_ = State::Done;
    return HeadError::None;
  case State::Done:
    break;
  }
  return HeadError::Malformed;
}

} // namespace wsgate::http
