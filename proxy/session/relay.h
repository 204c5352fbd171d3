#pragma once

#include "common/ws/frame_parser.h"
#include "common/ws/frame_writer.h"
#include "proxy/metrics/stats.h"
#include "proxy/session/leg.h"
#include "proxy/transport/tcp_stream.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wsgate::proxy {

class Relay;

// What a relay reports to its owner (the session). The owner decides; the relay only parses,
// forwards and injects.
class RelayEvents {
public:
  // A frame from `relay.from()` broke the rules; the relay forwards nothing more. `mid_frame`:
  // the offending frame's first bytes were already forwarded.
  virtual void onViolation(Relay& relay, ws::ParseError error, bool mid_frame) = 0;
  // onClientMessageStart() refused a message; the relay stopped inside the chunk.
  virtual void onPolicyStop(Relay& relay) = 0;
  // A close frame from `relay.from()` is complete. True: forward it; false: it answers a close
  // wsgate sent, and goes no further.
  virtual bool onCloseFrame(Relay& relay, uint16_t code, std::string_view reason) = 0;
  // A text or binary message from the client begins. False: refuse it (rate limit).
  virtual bool onClientMessageStart() = 0;
  // A pong from the client: true when it answers a ping of wsgate's own (it is then cut out).
  virtual bool isOwnPong(std::span<const uint8_t> payload) = 0;
  // A frame given to inject() went out (is in the output of the current chunk, or written).
  virtual void onInjected(Relay& relay, bool is_close) = 0;

protected:
  ~RelayEvents() = default;
};

// Frames flowing one way, from `from` to `to`: a streaming parser watches every byte, valid
// bytes are forwarded unchanged and without copy, control frames wsgate injects go out only at
// frame boundaries, and wsgate's own pongs (from the client) are cut out of the stream.
class Relay final : public ws::FrameSink {
public:
  Relay(RelayEvents& events, Leg& from, Leg& to, bool from_client, metrics::WorkerStats& stats);

  void configure(const ws::ParserOptions& options) { parser_ = ws::FrameParser(options); }
  // Handles bytes read from `from`.
  void onData(Block* block, const uint8_t* data, std::size_t length);
  // True when the bytes forwarded to `to` end at a frame boundary. After a violation the
  // parser is dead; the output then ends where the offending frame began, unless that frame
  // had already been partly forwarded.
  bool atBoundary() const {
    if (parser_.error() != ws::ParseError::None) return !failed_mid_frame_;
    return parser_.atFrameBoundary() || parser_.closed() || !held_.empty();
  }
  // Writes `frame` to `to` now when at a boundary, else at the next frame end. `is_close`
  // tells the session when it went out.
  void inject(const ws::ControlFrame& frame, bool is_close);
  bool hasPending() const { return pending_ != nullptr; }
  // True inside onData(): output emitted so far is not written yet.
  bool inChunk() const { return chunk_ != nullptr; }
  // Stop forwarding: what comes from `from` is parsed (to see its close) but dropped.
  void stopForwarding() { forwarding_ = false; }
  const ws::FrameParser& parser() const { return parser_; }
  Leg& from() { return from_; }
  Leg& to() { return to_; }

  // FrameSink
  void onFrameHeader(const ws::FrameHeader& header) override;
  void onFrameEnd(const ws::FrameHeader& header, std::span<const uint8_t> control,
                  std::size_t end) override;
  void onInflated(std::size_t bytes) override { stats_.inflated_bytes[direction_].add(bytes); }

private:
  static constexpr std::size_t kBefore = static_cast<std::size_t>(-1);
  // A piece of output: a range of the current chunk, or (owned) bytes in out_copy_.
  struct Piece {
    const uint8_t* data; // into the chunk; nullptr for an owned piece
    std::size_t offset;  // into Output::scratch, for an owned piece
    std::size_t size;
  };

  // The output of the chunk being handled: pieces, and the bytes of owned pieces. It is scratch
  // memory of the worker thread, not of a relay: each relay runs on its worker's thread, and
  // one onData() call fills and flushes it (an OutputScope), so it is empty whenever no
  // onData() runs and idle sessions carry none of it. onData() is never re-entered: what the
  // relay reports to its owner only injects frames or closes streams.
  struct Output {
    std::vector<Piece> pieces;
    std::vector<uint8_t> scratch;
    bool empty() const { return pieces.empty() && scratch.empty(); }
  };
  // The thread's Output, reached only through this.
  static Output& output();
  // Marks one onData() call's use of the thread's Output: empty when it begins and when it ends
  // (asserted in debug builds).
  class OutputScope {
  public:
    OutputScope();
    ~OutputScope();
    OutputScope(const OutputScope&) = delete;
    OutputScope& operator=(const OutputScope&) = delete;
  };

  void emitRange(std::size_t from, std::size_t to);
  void emitOwned(const uint8_t* data, std::size_t size);
  void emitHeld();
  void releaseHeld();
  void flush();
  void injectPending();

  RelayEvents& events_;
  Leg& from_;
  Leg& to_;
  metrics::WorkerStats& stats_;
  ws::FrameParser parser_;

  // Per chunk: the chunk, where the current frame began in it (kBefore: in an earlier chunk),
  // and where the part not yet emitted begins.
  Block* block_ = nullptr;
  const uint8_t* chunk_ = nullptr;
  std::size_t frame_start_ = 0;
  std::size_t out_from_ = 0;

  // Bytes of the current frame held back from `to`: a header not yet complete, or a client pong
  // that may be wsgate's own. Non-empty only in the client->backend direction.
  std::vector<uint8_t> held_;

  std::unique_ptr<ws::ControlFrame> pending_; // allocated only while a frame waits

  // Flags together, so they pack into one word.
  uint8_t direction_; // index into the stats' per-direction arrays
  bool from_client_;
  bool forwarding_ = true;
  bool stop_ = false; // a policy stop inside this chunk: ignore the rest
  bool capturing_pong_ = false;
  bool failed_mid_frame_ = false; // the violation came inside a frame partly forwarded
  bool pending_is_close_ = false;
};

} // namespace wsgate::proxy
