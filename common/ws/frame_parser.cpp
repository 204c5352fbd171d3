#include "common/ws/frame_parser.h"

#include "common/ws/close.h"
#include "common/ws/mask.h"

#include <algorithm>
#include <cstring>

namespace wsgate::ws {

namespace {

constexpr uint8_t kFin = 0x80;
constexpr uint8_t kRsvMask = 0x70;
constexpr uint8_t kOpcodeMask = 0x0F;
constexpr uint8_t kMaskBit = 0x80;
constexpr uint8_t kLen7Mask = 0x7F;
constexpr uint8_t kLen16 = 126;
constexpr uint8_t kLen64 = 127;
constexpr uint8_t kRsv1 = 0x4;

// See FrameParser::Extra. One per thread: parsers on one thread never feed at once.
thread_local std::array<uint8_t, kMaxControlPayload> tControlScratch;

bool isKnownOpcode(uint8_t op) {
  return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

// Bytes of extended length that follow the second header byte.
std::size_t extendedLengthBytes(uint8_t b1) {
  const uint8_t len7 = b1 & kLen7Mask;
  if (len7 == kLen16) return 2;
  if (len7 == kLen64) return 8;
  return 0;
}

} // namespace

uint16_t closeCodeFor(ParseError error) {
  switch (error) {
  case ParseError::None:
    return close_code::kNormal;
  case ParseError::InvalidUtf8:
  case ParseError::InvalidCloseReason:
  case ParseError::InvalidCompressedData:
    return close_code::kInvalidPayload;
  case ParseError::BinaryNotAllowed:
    return close_code::kPolicyViolation;
  case ParseError::FrameTooBig:
  case ParseError::MessageTooBig:
    return close_code::kMessageTooBig;
  default:
    return close_code::kProtocolError;
  }
}

const char* reasonFor(ParseError error) {
  switch (error) {
  case ParseError::None:
    return "";
  case ParseError::ReservedBits:
    return "reserved bits set";
  case ParseError::ReservedOpcode:
    return "reserved opcode";
  case ParseError::UnmaskedFrame:
    return "client frame not masked";
  case ParseError::MaskedFrame:
    return "server frame masked";
  case ParseError::ControlTooLong:
    return "control frame over 125 bytes";
  case ParseError::ControlFragmented:
    return "fragmented control frame";
  case ParseError::UnexpectedContinuation:
    return "continuation frame without a message";
  case ParseError::ExpectedContinuation:
    return "new message before the last one ended";
  case ParseError::LengthHighBit:
    return "64-bit length with the high bit set";
  case ParseError::NonMinimalLength:
    return "payload length not minimally encoded";
  case ParseError::ClosePayloadOneByte:
    return "close frame with a 1-byte payload";
  case ParseError::InvalidCloseCode:
    return "invalid close code";
  case ParseError::FrameAfterClose:
    return "frame after close";
  case ParseError::InvalidUtf8:
    return "invalid UTF-8 in text message";
  case ParseError::InvalidCloseReason:
    return "invalid UTF-8 in close reason";
  case ParseError::InvalidCompressedData:
    return "invalid compressed data";
  case ParseError::BinaryNotAllowed:
    return "binary messages not allowed";
  case ParseError::FrameTooBig:
    return "frame too big";
  case ParseError::MessageTooBig:
    return "message too big";
  }
  return "unknown error";
}

const char* kindOf(ParseError error) {
  switch (error) {
  case ParseError::None:
    return "none";
  case ParseError::InvalidUtf8:
  case ParseError::InvalidCloseReason:
    return "utf8";
  case ParseError::BinaryNotAllowed:
    return "binary_not_allowed";
  case ParseError::FrameTooBig:
    return "frame_too_big";
  case ParseError::MessageTooBig:
    return "message_too_big";
  default:
    return "protocol";
  }
}

// Checks inflated output as it comes: the message size, then UTF-8 for text.
class InflateCheck final : public InflateSink {
public:
  InflateCheck(FrameParser& parser, FrameSink& sink) : p_(parser), sink_(sink) {}
  bool onInflated(std::span<const uint8_t> block) override {
    FrameParser::Inflate& in = p_.inflate();
    in.inflated_size += block.size();
    if (in.inflated_size > p_.options_.max_message_size) {
      in.error = ParseError::MessageTooBig;
      return false;
    }
    if (p_.message_opcode_ == Opcode::Text && p_.options_.validate_utf8 && !p_.utf8_.feed(block)) {
      in.error = ParseError::InvalidUtf8;
      return false;
    }
    sink_.onInflated(block.size());
    return true;
  }

private:
  FrameParser& p_;
  FrameSink& sink_;
};

FrameParser::FrameParser(const ParserOptions& options) : options_(options) {
  if (options_.deflate) options_.allowed_rsv |= kRsv1;
}

FeedResult FrameParser::fail(ParseError error, std::size_t at) {
  extra_.reset(); // a dead stream inflates nothing more
  state_ = State::Failed;
  error_ = error;
  return FeedResult{error, at};
}

ParseError FrameParser::checkByte0(uint8_t b0) const {
  const uint8_t op = b0 & kOpcodeMask;
  const uint8_t rsv = (b0 & kRsvMask) >> 4;
  if (!isKnownOpcode(op)) return ParseError::ReservedOpcode;
  const auto opcode = static_cast<Opcode>(op);
  // An extension's RSV1 (permessage-deflate) marks the first frame of a data message only.
  uint8_t allowed = options_.allowed_rsv;
  if (isControl(opcode) || opcode == Opcode::Continuation) allowed &= static_cast<uint8_t>(~kRsv1);
  if ((rsv & ~allowed) != 0) return ParseError::ReservedBits;
  if (isControl(opcode)) {
    if ((b0 & kFin) == 0) return ParseError::ControlFragmented;
    return ParseError::None;
  }
  if (opcode == Opcode::Continuation) {
    if (!inMessage()) return ParseError::UnexpectedContinuation;
    return ParseError::None;
  }
  if (inMessage()) return ParseError::ExpectedContinuation;
  if (opcode == Opcode::Binary && !options_.allow_binary) return ParseError::BinaryNotAllowed;
  return ParseError::None;
}

ParseError FrameParser::checkByte1(uint8_t b0, uint8_t b1) const {
  const bool masked = (b1 & kMaskBit) != 0;
  if (options_.peer == Role::Client && !masked) return ParseError::UnmaskedFrame;
  if (options_.peer == Role::Server && masked) return ParseError::MaskedFrame;
  if (isControl(static_cast<Opcode>(b0 & kOpcodeMask)) && (b1 & kLen7Mask) > kMaxControlPayload) {
    return ParseError::ControlTooLong;
  }
  return ParseError::None;
}

ParseError FrameParser::checkLength(const uint8_t* bytes) {
  const uint8_t len7 = bytes[1] & kLen7Mask;
  uint64_t length = len7;
  if (len7 == kLen16) {
    length = (uint64_t{bytes[2]} << 8) | bytes[3];
    if (length < kLen16) return ParseError::NonMinimalLength;
  } else if (len7 == kLen64) {
    if ((bytes[2] & 0x80) != 0) return ParseError::LengthHighBit;
    length = 0;
    for (int i = 0; i < 8; ++i)
      length = (length << 8) | bytes[2 + i];
    if (length <= 0xFFFF) return ParseError::NonMinimalLength;
  }
  const auto opcode = static_cast<Opcode>(bytes[0] & kOpcodeMask);
  if (!isControl(opcode)) {
    if (length > options_.max_frame_size) return ParseError::FrameTooBig;
    const uint64_t before = opcode == Opcode::Continuation ? message_size_ : 0;
    if (length > options_.max_message_size - std::min(before, options_.max_message_size) ||
        before > options_.max_message_size) {
      return ParseError::MessageTooBig;
    }
  }
  frame_.fin = (bytes[0] & kFin) != 0;
  frame_.rsv = static_cast<uint8_t>((bytes[0] & kRsvMask) >> 4);
  frame_.opcode = opcode;
  frame_.masked = (bytes[1] & kMaskBit) != 0;
  frame_.payload_length = length;
  frame_.header_length =
      static_cast<uint8_t>(2 + extendedLengthBytes(bytes[1]) + (frame_.masked ? 4 : 0));
  return ParseError::None;
}

void FrameParser::beginFrame(const uint8_t* mask) {
  if (frame_.masked) {
    std::memcpy(frame_.mask.data(), mask, 4);
  } else {
    frame_.mask = MaskKey{};
  }
  payload_left_ = frame_.payload_length;
  payload_seen_ = 0;
  control_have_ = 0;
  if (!isControl(frame_.opcode)) {
    if (frame_.opcode != Opcode::Continuation) {
      message_opcode_ = frame_.opcode;
      message_size_ = 0;
      utf8_.reset();
      message_compressed_ = (frame_.rsv & kRsv1) != 0;
      if (message_compressed_ && options_.deflate) {
        Extra& x = extra();
        if (!x.inflate) x.inflate = std::make_unique<Inflate>(*options_.deflate);
        x.inflate->inflated_size = 0;
      }
    }
    message_size_ += frame_.payload_length;
  }
}

uint8_t* FrameParser::controlBuffer() {
  return extra_ && extra_->control_spill ? extra_->control_spill.get() : tControlScratch.data();
}

FrameParser::Extra& FrameParser::extra() {
  if (!extra_) extra_ = std::make_unique<Extra>();
  return *extra_;
}

void FrameParser::trimExtra() {
  if (extra_ && !extra_->control_spill && !extra_->inflate) extra_.reset();
}

ParseError FrameParser::checkPayload(std::span<const uint8_t> wire, FrameSink& sink) {
  if (isControl(frame_.opcode)) {
    uint8_t* out = controlBuffer() + control_have_;
    if (frame_.masked) {
      unmaskCopy(wire, out, frame_.mask, payload_seen_);
    } else {
      std::memcpy(out, wire.data(), wire.size());
    }
    control_have_ = static_cast<uint8_t>(control_have_ + wire.size());
    return ParseError::None;
  }
  if (message_compressed_) {
    // Without a negotiated deflate (RSV1 allowed by another extension) nothing can be checked.
    return options_.deflate ? inflatePayload(wire, sink) : ParseError::None;
  }
  return checkText(wire);
}

ParseError FrameParser::inflateResult(InflateResult result) const {
  switch (result) {
  case InflateResult::Ok:
    return ParseError::None;
  case InflateResult::Stopped:
    return extra_->inflate->error;
  case InflateResult::Corrupt:
    return ParseError::InvalidCompressedData;
  }
  return ParseError::InvalidCompressedData;
}

ParseError FrameParser::inflatePayload(std::span<const uint8_t> wire, FrameSink& sink) {
  InflateCheck check(*this, sink);
  if (!frame_.masked) return inflateResult(inflate().inflater.feed(wire, check));
  std::array<uint8_t, 4096> scratch;
  std::size_t offset = payload_seen_ & 3;
  while (!wire.empty()) {
    const std::size_t n = std::min(wire.size(), scratch.size());
    offset = unmaskCopy(wire.first(n), scratch.data(), frame_.mask, offset);
    const ParseError e =
        inflateResult(inflate().inflater.feed(std::span<const uint8_t>(scratch.data(), n), check));
    if (e != ParseError::None) return e;
    wire = wire.subspan(n);
  }
  return ParseError::None;
}

ParseError FrameParser::checkText(std::span<const uint8_t> wire) {
  if (message_opcode_ != Opcode::Text || !options_.validate_utf8) return ParseError::None;
  if (!frame_.masked) return utf8_.feed(wire) ? ParseError::None : ParseError::InvalidUtf8;
  // Unmask into a small scratch buffer a block at a time; the wire bytes stay untouched.
  std::array<uint8_t, 4096> scratch;
  std::size_t offset = payload_seen_ & 3;
  while (!wire.empty()) {
    const std::size_t n = std::min(wire.size(), scratch.size());
    offset = unmaskCopy(wire.first(n), scratch.data(), frame_.mask, offset);
    if (!utf8_.feed(std::span<const uint8_t>(scratch.data(), n))) return ParseError::InvalidUtf8;
    wire = wire.subspan(n);
  }
  return ParseError::None;
}

ParseError FrameParser::finishFrame(FrameSink& sink) {
  if (frame_.opcode == Opcode::Close) {
    ClosePayload close;
    switch (parseClosePayload(std::span<const uint8_t>(controlBuffer(), control_have_), close)) {
    case CloseParseError::None:
      return ParseError::None;
    case CloseParseError::OneByte:
      return ParseError::ClosePayloadOneByte;
    case CloseParseError::InvalidCode:
      return ParseError::InvalidCloseCode;
    case CloseParseError::InvalidUtf8:
      return ParseError::InvalidCloseReason;
    }
  }
  if (isControl(frame_.opcode) || !frame_.fin) return ParseError::None;
  const bool text = message_opcode_ == Opcode::Text;
  if (message_compressed_ && options_.deflate) {
    InflateCheck check(*this, sink);
    if (const ParseError e = inflateResult(inflate().inflater.endMessage(check));
        e != ParseError::None) {
      return e;
    }
    if (!inflate().inflater.holdsState()) {
      extra_->inflate.reset();
      trimExtra();
    }
  }
  message_opcode_ = Opcode::Continuation;
  message_compressed_ = false;
  if (text && options_.validate_utf8 && !utf8_.finish()) return ParseError::InvalidUtf8;
  return ParseError::None;
}

FeedResult FrameParser::endFrame(FrameSink& sink, std::size_t end) {
  if (const ParseError error = finishFrame(sink); error != ParseError::None) {
    return fail(error, end == 0 ? 0 : end - 1);
  }
  const bool control = isControl(frame_.opcode);
  state_ = frame_.opcode == Opcode::Close ? State::Closed : State::Header;
  sink.onFrameEnd(frame_,
                  control ? std::span<const uint8_t>(controlBuffer(), control_have_)
                          : std::span<const uint8_t>(),
                  end);
  if (extra_ && extra_->control_spill) {
    extra_->control_spill.reset();
    trimExtra();
  }
  return FeedResult{ParseError::None, end};
}

FeedResult FrameParser::feed(std::span<const uint8_t> chunk, FrameSink& sink) {
  if (state_ == State::Failed) return FeedResult{error_, 0};
  const uint8_t* data = chunk.data();
  const std::size_t size = chunk.size();
  std::size_t pos = 0;
  while (pos < size) {
    // RFC 6455 section 5.5.1: what follows a close frame is discarded, not an error.
    if (state_ == State::Closed) return FeedResult{ParseError::None, size};
    if (state_ == State::Header) {
      const uint8_t* header = nullptr;
      if (header_have_ == 0 && size - pos >= 2) {
        // Fast path: the header may lie whole in this chunk; parse it in place.
        if (const ParseError e = checkByte0(data[pos]); e != ParseError::None) return fail(e, pos);
        if (const ParseError e = checkByte1(data[pos], data[pos + 1]); e != ParseError::None) {
          return fail(e, pos + 1);
        }
        const std::size_t ext = extendedLengthBytes(data[pos + 1]);
        const std::size_t need = 2 + ext + ((data[pos + 1] & kMaskBit) != 0 ? 4 : 0);
        if (size - pos >= need) {
          if (const ParseError e = checkLength(data + pos); e != ParseError::None) {
            return fail(e, e == ParseError::LengthHighBit ? pos + 2 : pos + 1 + ext);
          }
          header = data + pos;
          pos += need;
        }
      }
      if (header == nullptr) {
        // Slow path: collect the header a byte at a time, checking each field as it completes.
        const uint8_t byte = data[pos];
        header_[header_have_++] = byte;
        ParseError e = ParseError::None;
        if (header_have_ == 1) {
          e = checkByte0(byte);
        } else if (header_have_ == 2) {
          e = checkByte1(header_[0], byte);
        }
        const std::size_t ext = header_have_ >= 2 ? extendedLengthBytes(header_[1]) : 0;
        if (header_have_ == 3 && ext == 8 && (byte & 0x80) != 0) e = ParseError::LengthHighBit;
        if (e == ParseError::None && header_have_ == 2 + ext) e = checkLength(header_.data());
        if (e != ParseError::None) return fail(e, pos);
        ++pos;
        const std::size_t need =
            header_have_ >= 2 ? 2 + ext + ((header_[1] & kMaskBit) != 0 ? 4 : 0) : kMaxFrameHeader;
        if (header_have_ < need) continue;
        header = header_.data();
        header_have_ = 0;
      }
      beginFrame(header + 2 + extendedLengthBytes(header[1]));
      sink.onFrameHeader(frame_);
      if (payload_left_ == 0) {
        if (const FeedResult r = endFrame(sink, pos); !r.ok()) return r;
        continue;
      }
      state_ = State::Payload;
      continue;
    }
    // State::Payload
    const std::size_t take =
        static_cast<std::size_t>(std::min<uint64_t>(payload_left_, size - pos));
    const std::span<const uint8_t> wire(data + pos, take);
    if (const ParseError e = checkPayload(wire, sink); e != ParseError::None) {
      return fail(e, pos + take - 1);
    }
    if (!isControl(frame_.opcode)) sink.onPayload(frame_, wire);
    pos += take;
    payload_left_ -= take;
    payload_seen_ += take;
    if (payload_left_ == 0) {
      if (const FeedResult r = endFrame(sink, pos); !r.ok()) return r;
    }
  }
  if (state_ == State::Payload && isControl(frame_.opcode) && !(extra_ && extra_->control_spill)) {
    // The control frame goes on in the next chunk: keep what came so far.
    uint8_t* spill =
        (extra().control_spill = std::make_unique<uint8_t[]>(kMaxControlPayload)).get();
    std::memcpy(spill, tControlScratch.data(), control_have_);
  }
  return FeedResult{ParseError::None, size};
}

} // namespace wsgate::ws
