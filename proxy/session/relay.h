#pragma once

#include "common/ws/frame_parser.h"
#include "common/ws/frame_writer.h"
#include "proxy/metrics/stats.h"
#include "proxy/transport/tcp_stream.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wsgate::proxy {

class Session;

// One TCP connection of a session (the client's or the backend's) and its close state.
struct Leg {
  explicit Leg(const char* leg_name) : name(leg_name) {}

  const char* name; // "client" or "backend"
  std::unique_ptr<Stream> stream;
  // The close that ended this leg: its code (1006 when TCP ended without one), reason and
  // who sent it first ("client", "backend" or "proxy"). Code 0: not closing yet. The reason
  // is allocated when the leg closes: an open leg (most of them, most of the time) holds none.
  std::unique_ptr<std::string> close_reason;
  const char* closed_by = "";
  uint64_t bytes_in = 0; // bytes read from this peer
  uint64_t messages_in = 0;
  uint16_t close_code = 0;
  bool established = false;    // connected (backend) or accepted (client)
  bool close_received = false; // a close frame came from this peer
  bool close_sent = false;     // a close frame went to this peer (relayed or wsgate's own)
  // The peer finished sending (EOF) or its connection broke. A FIN ends the peer's sending, not
  // its receiving: what is owed to it is still written.
  bool read_ended = false;
  bool failed = false;        // the connection broke or wsgate cut it: nothing more is written
  bool handle_closed = false; // the stream's handle is closed
  bool close_counted = false; // wsgate_closes_total has this leg (counted when its TCP closed)
  // The peer broke the protocol: its connection is failed (RFC 6455 section 7.1.7), so once
  // wsgate's close frame is out, its reply is not awaited.
  bool failing = false;

  // Nothing more is owed to or awaited from this peer on the WebSocket level.
  bool closeDone() const {
    return failed || (close_sent && (close_received || read_ended || failing));
  }
  void recordClose(uint16_t code, std::string_view reason, const char* by) {
    if (close_code != 0) return;
    close_code = code;
    close_reason = std::make_unique<std::string>(reason);
    closed_by = by;
  }
  std::string_view closeReason() const {
    return close_reason ? std::string_view(*close_reason) : std::string_view();
  }
};

// Frames flowing one way, from `from` to `to`: a streaming parser watches every byte, valid
// bytes are forwarded unchanged and without copy, control frames wsgate injects go out only at
// frame boundaries, and wsgate's own pongs (from the client) are cut out of the stream.
class Relay final : public ws::FrameSink {
public:
  Relay(Session& session, Leg& from, Leg& to, bool from_client, metrics::WorkerStats& stats);

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

  // The output of the chunk being handled: pieces, and the bytes of owned pieces. One per
  // thread, not per relay: it is filled and flushed within one onData() (or one inject()), so it
  // is always empty between them, and idle connections carry none of it.
  struct Output {
    std::vector<Piece> pieces;
    std::vector<uint8_t> scratch;
  };
  static Output& output();

  void emitRange(std::size_t from, std::size_t to);
  void emitOwned(const uint8_t* data, std::size_t size);
  void emitHeld();
  void releaseHeld();
  void flush();
  void injectPending();

  Session& session_;
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
