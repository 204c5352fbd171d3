#pragma once

#include "common/ws/frame.h"
#include "common/ws/inflater.h"
#include "common/ws/utf8.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>

namespace wsgate::ws {

// Why a frame stream was rejected. Each error calls for one close code (closeCodeFor).
enum class ParseError : uint8_t {
  None,
  ReservedBits,           // 1002: RSV bit set without a negotiated extension
  ReservedOpcode,         // 1002: opcode 0x3-0x7 or 0xB-0xF
  UnmaskedFrame,          // 1002: a client frame without a mask
  MaskedFrame,            // 1002: a server frame with a mask
  ControlTooLong,         // 1002: control frame payload over 125 bytes
  ControlFragmented,      // 1002: control frame without FIN
  UnexpectedContinuation, // 1002: continuation frame with no message in progress
  ExpectedContinuation,   // 1002: a new data frame inside a fragmented message
  LengthHighBit,          // 1002: 64-bit length with the most significant bit set
  NonMinimalLength,       // 1002: length not in the shortest encoding
  ClosePayloadOneByte,    // 1002: close frame with a 1-byte payload
  InvalidCloseCode,       // 1002: close code not allowed on the wire
  FrameAfterClose,        // unused: bytes after a close frame are discarded (RFC 6455 5.5.1)
  InvalidUtf8,            // 1007: text message is not UTF-8
  InvalidCloseReason,     // 1007: close reason is not UTF-8
  InvalidCompressedData,  // 1007: a compressed message is not valid DEFLATE data
  BinaryNotAllowed,       // 1008: policy forbids binary messages
  FrameTooBig,            // 1009: frame payload over the frame limit
  MessageTooBig,          // 1009: message over the message limit
};

uint16_t closeCodeFor(ParseError error);
// A short static reason, fit for a close frame and a log line ("invalid UTF-8 in text message").
const char* reasonFor(ParseError error);
// A bounded label for metrics and logs: "protocol", "utf8", "binary_not_allowed",
// "frame_too_big", "message_too_big".
const char* kindOf(ParseError error);

struct ParserOptions {
  uint64_t max_frame_size = std::numeric_limits<uint64_t>::max();   // data frame payload
  uint64_t max_message_size = std::numeric_limits<uint64_t>::max(); // all fragments
  Role peer = Role::Client; // who sends the frames this parser reads
  bool validate_utf8 = true;
  bool allow_binary = true;
  uint8_t allowed_rsv = 0; // RSV bits an extension negotiated (bit 2 = RSV1)
  // permessage-deflate negotiated for this direction: RSV1 is allowed on the first frame of a
  // data message and marks it compressed; a copy of its payload is inflated so that UTF-8 and
  // max_message_size apply to the inflated message (the wire size is held to the limit too).
  std::optional<DeflateDirection> deflate;
};

// Receives what the parser finds. Offsets are into the chunk passed to the current feed().
class FrameSink {
public:
  virtual ~FrameSink() = default;
  // A complete, valid frame header. Called before any of the frame's payload.
  virtual void onFrameHeader(const FrameHeader& header) { (void)header; }
  // A chunk of a data frame's payload as it is on the wire (still masked for client frames).
  virtual void onPayload(const FrameHeader& header, std::span<const uint8_t> wire) {
    (void)header;
    (void)wire;
  }
  // `bytes` more of a compressed message were inflated (and checked).
  virtual void onInflated(std::size_t bytes) { (void)bytes; }
  // The frame is complete and valid; it ends at `end` in the current chunk. For control frames
  // `control_payload` is the unmasked payload (a close payload has been validated); for data
  // frames it is empty.
  virtual void onFrameEnd(const FrameHeader& header, std::span<const uint8_t> control_payload,
                          std::size_t end) = 0;
};

struct FeedResult {
  ParseError error = ParseError::None;
  // Without an error: the whole chunk. With one: the offset of the byte that proved it.
  std::size_t consumed = 0;
  bool ok() const { return error == ParseError::None; }
};

// A streaming RFC 6455 frame parser for one direction of one connection. It is fed arbitrary
// chunks (down to one byte) and reports headers, payload spans (no copy) and frame ends. It
// enforces section 5 for the peer's role, the size limits and, for text, UTF-8 validity. It
// never reassembles a message: memory does not grow with message size.
// After an error the parser is dead: every later feed() returns the same error.
class FrameParser {
public:
  explicit FrameParser(const ParserOptions& options = {});

  FeedResult feed(std::span<const uint8_t> chunk, FrameSink& sink);

  // True between frames: injecting a control frame here does not split a frame.
  bool atFrameBoundary() const { return state_ == State::Header && header_have_ == 0; }
  // True when some bytes of a frame header have arrived but not all: the frame's type may
  // still be unknown.
  bool inHeader() const { return state_ == State::Header && header_have_ > 0; }
  // True while a fragmented data message is unfinished (its last frame not yet seen).
  bool inMessage() const { return message_opcode_ != Opcode::Continuation; }
  // True from the first frame of a compressed (RSV1) data message to its last.
  bool messageCompressed() const { return message_compressed_; }
  // True once a valid close frame has been parsed.
  bool closed() const { return state_ == State::Closed; }
  ParseError error() const { return error_; }
  const ParserOptions& options() const { return options_; }
  // True while this direction holds inflate state (see MessageInflater).
  bool holdsInflateState() const {
    return extra_ && extra_->inflate && extra_->inflate->inflater.holdsState();
  }

private:
  // Header: collecting the 2..14 header bytes (header_ holds header_have_ of them).
  // Payload: header_ valid, payload_left_ bytes of the frame still to come.
  // Closed: a close frame was parsed; further bytes are consumed and ignored (RFC 6455 5.5.1).
  // Failed: an error was returned; error_ says which.
  enum class State : uint8_t { Header, Payload, Closed, Failed };

  FeedResult fail(ParseError error, std::size_t at);
  // Each check runs as soon as the bytes it needs have arrived.
  ParseError checkByte0(uint8_t b0) const;
  ParseError checkByte1(uint8_t b0, uint8_t b1) const;
  // Checks the length field (bytes[0..2+ext)) against the rules and limits; fills frame_.
  ParseError checkLength(const uint8_t* bytes);
  // Starts the payload of the frame in frame_, whose mask key (if any) is at `mask`.
  void beginFrame(const uint8_t* mask);
  ParseError checkPayload(std::span<const uint8_t> wire, FrameSink& sink);
  ParseError finishFrame(FrameSink& sink);
  // Inflates wire bytes of the compressed message (unmasking a copy first) and checks the output.
  ParseError inflatePayload(std::span<const uint8_t> wire, FrameSink& sink);
  ParseError inflateResult(InflateResult result) const;
  ParseError checkText(std::span<const uint8_t> wire);
  FeedResult endFrame(FrameSink& sink, std::size_t end);

  ParserOptions options_;
  State state_ = State::Header;
  ParseError error_ = ParseError::None;
  FrameHeader frame_;
  uint64_t payload_left_ = 0;
  uint64_t payload_seen_ = 0; // payload bytes of the current frame already passed
  uint64_t message_size_ = 0; // payload bytes of the current message so far
  Opcode message_opcode_ = Opcode::Continuation; // Text/Binary while a message is open
  bool message_compressed_ = false;              // the open message had RSV1 on its first frame
  Utf8Validator utf8_;
  std::array<uint8_t, kMaxFrameHeader> header_{};
  uint8_t header_have_ = 0;
  uint8_t control_have_ = 0;
  // The inflate side of permessage-deflate: created with the first compressed message and kept
  // only while its inflater holds zlib state (context takeover).
  struct Inflate {
    explicit Inflate(const DeflateDirection& params) : inflater(params) {}
    MessageInflater inflater;
    uint64_t inflated_size = 0;          // inflated bytes of the open compressed message
    ParseError error = ParseError::None; // why the check stopped inflating
  };
  // What a parser needs only now and then, allocated on demand and freed when both parts are
  // gone, so an idle parser holds one null pointer. A control payload is unmasked into a
  // per-thread scratch buffer while it lies within one feed(); only one that spans feeds is
  // copied to control_spill (and freed at its end).
  struct Extra {
    std::unique_ptr<uint8_t[]> control_spill;
    std::unique_ptr<Inflate> inflate;
  };
  std::unique_ptr<Extra> extra_;
  Extra& extra();
  void trimExtra(); // frees extra_ once both parts are gone
  Inflate& inflate() { return *extra_->inflate; }
  uint8_t* controlBuffer();
  friend class InflateCheck;
};

} // namespace wsgate::ws
