#include "proxy/session/relay.h"

#include "common/ws/close.h"

#include <algorithm>
#include <cassert>

namespace wsgate::proxy {

Relay::Relay(RelayEvents& events, Leg& from, Leg& to, bool from_client, metrics::WorkerStats& stats)
    : events_(events), from_(from), to_(to), stats_(stats),
      direction_(static_cast<uint8_t>(from_client ? metrics::Direction::ClientToBackend
                                                  : metrics::Direction::BackendToClient)),
      from_client_(from_client) {}

Relay::Output& Relay::output() {
  thread_local Output out;
  return out;
}

Relay::OutputScope::OutputScope() {
  assert(output().empty() && "a relay's output is empty between onData() calls");
}

Relay::OutputScope::~OutputScope() {
  assert(output().empty() && "onData() flushes its output before it returns");
}

void Relay::emitRange(std::size_t from, std::size_t to) {
  if (to <= from || !forwarding_) return;
  output().pieces.push_back(Piece{chunk_ + from, 0, to - from});
}

void Relay::emitOwned(const uint8_t* data, std::size_t size) {
  if (size == 0 || !forwarding_) return;
  // Owned bytes are copied into the scratch; the piece keeps their offset until flush().
  Output& out = output();
  const std::size_t offset = out.scratch.size();
  out.scratch.insert(out.scratch.end(), data, data + size);
  out.pieces.push_back(Piece{nullptr, offset, size});
}

void Relay::releaseHeld() {
  // Freed, not just cleared: held bytes are rare (a split header, a pong), so an idle session
  // keeps no buffer for them.
  std::vector<uint8_t>().swap(held_);
}

void Relay::emitHeld() {
  if (held_.empty()) return;
  emitOwned(held_.data(), held_.size());
  releaseHeld();
}

void Relay::flush() {
  Output& out = output();
  const bool writable = to_.stream != nullptr && !to_.stream->closing();
  if (out.pieces.empty() || !writable) {
    out.pieces.clear();
    out.scratch.clear();
    return;
  }
  // The output is emptied before the write, so nothing the write may trigger sees it half done.
  if (!out.scratch.empty() || out.pieces.size() > 8) {
    std::vector<uint8_t> bytes;
    for (const Piece& piece : out.pieces) {
      const uint8_t* data = piece.data != nullptr ? piece.data : out.scratch.data() + piece.offset;
      bytes.insert(bytes.end(), data, data + piece.size);
    }
    out.pieces.clear();
    out.scratch.clear();
    to_.stream->writeCopy(std::span<const uint8_t>(bytes));
    return;
  }
  uv_buf_t bufs[8];
  unsigned n = 0;
  for (const Piece& piece : out.pieces) {
    bufs[n++] = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(piece.data)),
                            static_cast<unsigned>(piece.size));
  }
  out.pieces.clear();
  to_.stream->writeBlock(block_, bufs, n);
}

void Relay::inject(const ws::ControlFrame& frame, bool is_close) {
  // Inside onData() (a close frame of this chunk completed a close), the bytes before it are
  // not emitted yet: the frame waits for the frame end, where they are.
  if (chunk_ == nullptr && atBoundary() && output().pieces.empty()) {
    if (to_.stream != nullptr && !to_.stream->closing()) to_.stream->writeCopy(frame.bytes());
    events_.onInjected(*this, is_close);
    return;
  }
  pending_ = std::make_unique<ws::ControlFrame>(frame);
  pending_is_close_ = is_close;
}

void Relay::injectPending() {
  if (!pending_) return;
  emitOwned(pending_->bytes().data(), pending_->size());
  const bool is_close = pending_is_close_;
  pending_.reset();
  events_.onInjected(*this, is_close);
}

void Relay::onData(Block* block, const uint8_t* data, std::size_t length) {
  // After the peer's close frame nothing it sends is forwarded (RFC 6455 section 5.5.1).
  if (parser_.closed()) return;
  const OutputScope scope;
  block_ = block;
  chunk_ = data;
  out_from_ = 0;
  stop_ = false;
  // A frame in progress began in an earlier chunk; its first bytes are either forwarded
  // already or held (held_ not empty).
  frame_start_ = parser_.atFrameBoundary() ? 0 : kBefore;
  const ws::FeedResult result = parser_.feed(std::span<const uint8_t>(data, length), *this);
  if (stop_) {
    // The session stopped this direction inside the chunk (a policy close); what came before the
    // stopping frame is already in the output.
    flush();
    chunk_ = nullptr;
    events_.onPolicyStop(*this);
    return;
  }
  if (!result.ok()) {
    const bool started_here = frame_start_ != kBefore;
    const bool mid_frame = !started_here && held_.empty();
    failed_mid_frame_ = mid_frame;
    if (started_here) emitRange(out_from_, frame_start_);
    releaseHeld();
    flush();
    chunk_ = nullptr;
    events_.onViolation(*this, result.error, mid_frame);
    return;
  }
  const std::size_t start = frame_start_ == kBefore ? 0 : frame_start_;
  if (capturing_pong_ || (from_client_ && parser_.inHeader())) {
    // Hold the unfinished frame back: it may be a pong of wsgate's own, to be cut out.
    emitRange(out_from_, start);
    held_.insert(held_.end(), data + start, data + length);
  } else {
    // A close frame ended in this chunk: the bytes behind it are dropped.
    emitRange(out_from_, parser_.closed() ? frame_start_ : length);
  }
  out_from_ = length;
  if (pending_ && atBoundary()) injectPending();
  flush();
  chunk_ = nullptr;
}

void Relay::onFrameHeader(const ws::FrameHeader& header) {
  if (stop_) return;
  const auto op = static_cast<std::size_t>(header.opcode);
  stats_.frames[direction_][op].add();
  stats_.payload_bytes[direction_].add(header.payload_length);
  if (header.opcode == ws::Opcode::Text || header.opcode == ws::Opcode::Binary) {
    stats_.messages[direction_][op].add();
    if (parser_.messageCompressed()) stats_.compressed_messages[direction_].add();
  }
  if (!ws::isControl(header.opcode) && parser_.messageCompressed()) {
    stats_.compressed_payload_bytes[direction_].add(header.payload_length);
  }
  if (from_client_ && header.opcode == ws::Opcode::Pong) {
    // Hold the pong until its payload shows whose it is.
    if (frame_start_ != kBefore) {
      emitRange(out_from_, frame_start_);
      out_from_ = frame_start_;
    }
    capturing_pong_ = true;
    return;
  }
  if (!held_.empty()) {
    // A header held back at the end of the last chunk turned out not to be a pong.
    emitHeld();
  }
  if (from_client_ && (header.opcode == ws::Opcode::Text || header.opcode == ws::Opcode::Binary)) {
    if (!events_.onClientMessageStart()) {
      stop_ = true;
      if (frame_start_ != kBefore) emitRange(out_from_, frame_start_);
    }
  }
}

void Relay::onFrameEnd(const ws::FrameHeader& header, std::span<const uint8_t> control,
                       std::size_t end) {
  if (stop_) return;
  const std::size_t start = frame_start_ == kBefore ? 0 : frame_start_;
  if (!ws::isControl(header.opcode)) {
    if (header.fin) ++from_.messages_in;
  } else if (capturing_pong_) {
    capturing_pong_ = false;
    if (events_.isOwnPong(control)) {
      releaseHeld();
      out_from_ = end; // cut the pong out
    } else {
      emitHeld();
      out_from_ = start;
    }
  } else if (header.opcode == ws::Opcode::Close) {
    ws::ClosePayload close;
    ws::parseClosePayload(control, close); // already validated by the parser
    if (!events_.onCloseFrame(*this, close.code, close.reason)) {
      // wsgate already closed `to` itself: this close answers it and goes no further.
      if (frame_start_ != kBefore) emitRange(out_from_, frame_start_);
      out_from_ = end;
    }
  }
  frame_start_ = end;
  if (pending_) {
    emitRange(out_from_, end);
    out_from_ = end;
    injectPending();
  }
}

} // namespace wsgate::proxy
