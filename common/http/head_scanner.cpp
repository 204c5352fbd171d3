#include "common/http/head_scanner.h"

#include <cstring>

namespace wsgate::http {

namespace {

// Offset of the first CR or LF in [from, size), or size.
std::size_t lineEnd(const uint8_t* data, std::size_t from, std::size_t size) {
  const std::size_t length = size - from;
  const void* cr = std::memchr(data + from, '\r', length);
  const std::size_t until =
      cr != nullptr ? static_cast<std::size_t>(static_cast<const uint8_t*>(cr) - data) : size;
  const void* lf = std::memchr(data + from, '\n', until - from);
  return lf != nullptr ? static_cast<std::size_t>(static_cast<const uint8_t*>(lf) - data) : until;
}

} // namespace

HeadScanner::Result HeadScanner::scan(std::span<const uint8_t> bytes) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    if (state_ == State::StartLine || state_ == State::Header) {
      // Inside a line, a byte other than CR or LF only counts toward the limits: skip the run
      // up to the line's end at once when it stays within them. A run that would break a limit
      // goes byte by byte below, which finds the exact offending byte.
      const std::size_t end = lineEnd(bytes.data(), i, bytes.size());
      const std::size_t run = end - i;
      if (run > 0 && total_ + run <= limits_.max_header_bytes &&
          line_length_ + run <= limits_.max_header_line) {
        total_ += run;
        line_length_ += run;
        i = end;
        continue;
      }
    }
    const HeadError error = step(bytes[i]);
    if (error != HeadError::None) return Result{error, i, false};
    if (state_ == State::Done) return Result{HeadError::None, i + 1, true};
    ++i;
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
