// The frame parser with permessage-deflate: compressed messages are inflated (a copy) and
// checked for UTF-8 and the inflated message size; RSV1 is legal only where RFC 7692 puts it.
#include "common/ws/frame_parser.h"
#include "common/ws/frame_writer.h"
#include "common/ws/inflater.h"
#include "common/ws/mask.h"

#include <algorithm>
#include <cstdint>
#include <gtest/gtest.h>
#include <string>
#include <vector>
#include <zlib.h>

namespace wsgate::ws {
namespace {

using Bytes = std::vector<uint8_t>;
const MaskKey kKey{0x12, 0x9a, 0xfe, 0x01};

// A permessage-deflate sender: raw deflate, each message flushed and its 00 00 ff ff tail cut.
class Compressor {
public:
  Compressor(int window_bits, bool no_context_takeover)
      : bits_(std::max(window_bits, 9)), reset_(no_context_takeover) {
    EXPECT_EQ(deflateInit2(&z_, 9, Z_DEFLATED, -bits_, 9, Z_DEFAULT_STRATEGY), Z_OK);
  }
  ~Compressor() { deflateEnd(&z_); }
  Bytes compress(std::string_view text) {
    Bytes out(text.size() + 1024);
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    z_.avail_in = static_cast<uInt>(text.size());
    z_.next_out = out.data();
    z_.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(deflate(&z_, Z_SYNC_FLUSH), Z_OK);
    out.resize(out.size() - z_.avail_out);
    EXPECT_GE(out.size(), 4u);
    out.resize(out.size() - 4); // RFC 7692 section 7.2.1: the tail is removed
    if (reset_) deflateReset(&z_);
    return out;
  }

private:
  z_stream z_{};
  int bits_;
  bool reset_;
};

Bytes frame(Opcode op, const Bytes& payload, bool fin = true, bool masked = true, uint8_t rsv = 0) {
  Bytes out(kMaxFrameHeader + payload.size());
  const std::size_t n =
      writeFrameHeader(out.data(), fin, op, payload.size(), masked ? &kKey : nullptr);
  out[0] |= static_cast<uint8_t>(rsv << 4);
  if (masked) {
    unmaskCopy(payload, out.data() + n, kKey, 0);
  } else {
    std::copy(payload.begin(), payload.end(), out.begin() + static_cast<std::ptrdiff_t>(n));
  }
  out.resize(n + payload.size());
  return out;
}

Bytes bytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

void append(Bytes& to, const Bytes& more) {
  to.insert(to.end(), more.begin(), more.end());
}

class Counting : public FrameSink {
public:
  void onFrameEnd(const FrameHeader& h, std::span<const uint8_t>, std::size_t) override {
    frames += 1;
    if (!isControl(h.opcode) && h.fin) messages += 1;
  }
  void onInflated(std::size_t n) override { inflated += n; }
  int frames = 0;
  int messages = 0;
  uint64_t inflated = 0;
};

struct Outcome {
  ParseError error = ParseError::None;
  int messages = 0;
  uint64_t inflated = 0;
};

Outcome feedChunks(const Bytes& in, const ParserOptions& o, const std::vector<std::size_t>& cuts) {
  FrameParser p(o);
  Counting sink;
  Outcome run;
  std::size_t start = 0;
  std::vector<std::size_t> bounds = cuts;
  bounds.push_back(in.size());
  for (const std::size_t end : bounds) {
    const FeedResult r = p.feed(std::span<const uint8_t>(in.data() + start, end - start), sink);
    if (!r.ok()) {
      run.error = r.error;
      break;
    }
    start = end;
  }
  run.messages = sink.messages;
  run.inflated = sink.inflated;
  return run;
}

// Whole, byte by byte and split in two at every point: all runs must agree.
Outcome parseAllWays(const Bytes& in, const ParserOptions& o) {
  const Outcome whole = feedChunks(in, o, {});
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < in.size(); ++i)
    every.push_back(i);
  const Outcome bytewise = feedChunks(in, o, every);
  EXPECT_EQ(bytewise.error, whole.error);
  EXPECT_EQ(bytewise.messages, whole.messages);
  for (std::size_t i = 1; i < in.size(); ++i) {
    const Outcome split = feedChunks(in, o, {i});
    EXPECT_EQ(split.error, whole.error) << "split at " << i;
    EXPECT_EQ(split.messages, whole.messages) << "split at " << i;
    if (whole.error == ParseError::None) {
      EXPECT_EQ(split.inflated, whole.inflated);
    }
  }
  return whole;
}

ParserOptions deflateOptions(uint8_t bits = 15, bool no_context = false, Role peer = Role::Client) {
  ParserOptions o;
  o.peer = peer;
  o.deflate = DeflateDirection{bits, no_context};
  return o;
}

const std::string kText = "h\xc3\xa9llo w\xc3\xb6rld, \xe4\xb8\x96\xe7\x95\x8c "
                          "{\"event\":\"tick\",\"value\":12345} repeated repeated repeated";

TEST(Inflate, EveryWindowAndContextModeBothRoles) {
  for (int bits = 8; bits <= 15; ++bits) {
    for (const bool no_context : {false, true}) {
      for (const Role peer : {Role::Client, Role::Server}) {
        SCOPED_TRACE(std::to_string(bits) + (no_context ? " no_context" : " takeover"));
        Compressor c(bits, no_context);
        Bytes in;
        for (int i = 0; i < 3; ++i)
          append(in, frame(Opcode::Text, c.compress(kText), true, peer == Role::Client, 4));
        const Outcome run =
            parseAllWays(in, deflateOptions(static_cast<uint8_t>(bits), no_context, peer));
        EXPECT_EQ(run.error, ParseError::None);
        EXPECT_EQ(run.messages, 3);
        EXPECT_EQ(run.inflated, 3 * kText.size());
      }
    }
  }
}

TEST(Inflate, ContextTakeoverAcrossHundredMessages) {
  Compressor c(15, false);
  Bytes in;
  std::size_t wire = 0;
  for (int i = 0; i < 100; ++i) {
    const Bytes z = c.compress(kText + std::to_string(i % 7));
    wire += z.size();
    append(in, frame(Opcode::Text, z, true, true, 4));
  }
  // Later messages are mostly back-references into earlier ones.
  EXPECT_LT(wire, 100 * kText.size() / 5);
  const Outcome run = feedChunks(in, deflateOptions(15, false), {});
  EXPECT_EQ(run.error, ParseError::None);
  EXPECT_EQ(run.messages, 100);
  // A receiver that drops its window between messages cannot inflate them.
  EXPECT_EQ(feedChunks(in, deflateOptions(15, true), {}).error, ParseError::InvalidCompressedData);
}

TEST(Inflate, FragmentedCompressedMessageWithPingAtEverySplit) {
  Compressor c(15, false);
  const Bytes z = c.compress(kText);
  const std::size_t third = z.size() / 3;
  Bytes in = frame(Opcode::Text, Bytes(z.begin(), z.begin() + third), false, true, 4);
  append(in, frame(Opcode::Ping, bytes("p")));
  append(in, frame(Opcode::Continuation, Bytes(z.begin() + third, z.begin() + 2 * third), false));
  append(in, frame(Opcode::Continuation, Bytes(z.begin() + 2 * third, z.end()), true));
  append(in, frame(Opcode::Text, bytes("plain text after it")));
  const Outcome run = parseAllWays(in, deflateOptions());
  EXPECT_EQ(run.error, ParseError::None);
  EXPECT_EQ(run.messages, 2);
  EXPECT_EQ(run.inflated, kText.size());
}

TEST(Inflate, Rsv1OnlyOnFirstFrameOfANegotiatedMessage) {
  Compressor c(15, true);
  const Bytes z = c.compress(kText);
  // Without permessage-deflate.
  EXPECT_EQ(parseAllWays(frame(Opcode::Text, z, true, true, 4), ParserOptions{}).error,
            ParseError::ReservedBits);
  // On a continuation frame.
  Bytes cont = frame(Opcode::Text, Bytes(z.begin(), z.begin() + 4), false, true, 4);
  append(cont, frame(Opcode::Continuation, Bytes(z.begin() + 4, z.end()), true, true, 4));
  EXPECT_EQ(parseAllWays(cont, deflateOptions()).error, ParseError::ReservedBits);
  // On control frames.
  for (const Opcode op : {Opcode::Ping, Opcode::Pong, Opcode::Close}) {
    EXPECT_EQ(parseAllWays(frame(op, Bytes{}, true, true, 4), deflateOptions()).error,
              ParseError::ReservedBits);
  }
  // RSV2 and RSV3 stay reserved.
  EXPECT_EQ(parseAllWays(frame(Opcode::Text, z, true, true, 2), deflateOptions()).error,
            ParseError::ReservedBits);
}

TEST(Inflate, InvalidUtf8InsideCompressedText) {
  for (const Role peer : {Role::Client, Role::Server}) {
    Compressor c(15, true);
    const Bytes in = frame(Opcode::Text, c.compress("valid start \xc3\x28 then bad"), true,
                           peer == Role::Client, 4);
    EXPECT_EQ(parseAllWays(in, deflateOptions(15, true, peer)).error, ParseError::InvalidUtf8);
  }
  // A sequence cut by the message end.
  Compressor c(15, true);
  EXPECT_EQ(parseAllWays(frame(Opcode::Text, c.compress("ends in \xe4\xb8"), true, true, 4),
                         deflateOptions())
                .error,
            ParseError::InvalidUtf8);
  // Binary is not text: any bytes pass.
  Compressor b(15, true);
  EXPECT_EQ(parseAllWays(frame(Opcode::Binary, b.compress("\xff\xfe\xc3\x28"), true, true, 4),
                         deflateOptions())
                .error,
            ParseError::None);
}

TEST(Inflate, MessageSizeAppliesToTheInflatedMessage) {
  Compressor c(15, true);
  const std::string big(10000, 'a');
  const Bytes z = c.compress(big);
  ASSERT_LT(z.size(), 100u);
  ParserOptions o = deflateOptions(15, true);
  o.max_message_size = 9999;
  EXPECT_EQ(parseAllWays(frame(Opcode::Text, z, true, true, 4), o).error,
            ParseError::MessageTooBig);
  o.max_message_size = 10000;
  EXPECT_EQ(parseAllWays(frame(Opcode::Text, z, true, true, 4), o).error, ParseError::None);
}

// 1 GiB of zeros compresses to about 1 MiB; the parser stops as soon as the limit is crossed
// and never holds more than one output block.
TEST(Inflate, BombStopsAtTheLimit) {
  Compressor c(15, true);
  const std::string mib(1 << 20, '\0');
  // The same flushed block repeated: each copy inflates to 1 MiB with no back-reference
  // outside itself... except into the previous copy's zeros, which are zeros too.
  z_stream z{};
  ASSERT_EQ(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes block(8192);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(mib.data()));
  z.avail_in = static_cast<uInt>(mib.size());
  z.next_out = block.data();
  z.avail_out = static_cast<uInt>(block.size());
  ASSERT_EQ(deflate(&z, Z_SYNC_FLUSH), Z_OK);
  block.resize(block.size() - z.avail_out);
  deflateEnd(&z);
  Bytes payload;
  for (int i = 0; i < 1024; ++i)
    append(payload, block);
  ParserOptions o = deflateOptions(15, true);
  o.max_message_size = 64ull << 20;
  FrameParser p(o);
  Counting sink;
  const Bytes in = frame(Opcode::Binary, payload, true, true, 4);
  const FeedResult r = p.feed(in, sink);
  EXPECT_EQ(r.error, ParseError::MessageTooBig);
  EXPECT_LE(sink.inflated, o.max_message_size);
  EXPECT_GT(sink.inflated, o.max_message_size - (64u << 10));
  EXPECT_FALSE(p.holdsInflateState());
}

TEST(Inflate, CorruptDataIs1007) {
  const Bytes garbage{0xff, 0xff, 0xff, 0xff, 0x00, 0x12};
  const Outcome run = parseAllWays(frame(Opcode::Binary, garbage, true, true, 4), deflateOptions());
  EXPECT_EQ(run.error, ParseError::InvalidCompressedData);
  EXPECT_EQ(closeCodeFor(ParseError::InvalidCompressedData), 1007);
}

TEST(Inflate, StateIsHeldOnlyWhileNeeded) {
  Counting sink;
  {
    FrameParser p(deflateOptions(15, true));
    EXPECT_FALSE(p.holdsInflateState());
    Compressor c(15, true);
    const Bytes z = c.compress(kText);
    const Bytes first = frame(Opcode::Text, Bytes(z.begin(), z.begin() + 5), false, true, 4);
    ASSERT_TRUE(p.feed(first, sink).ok());
    EXPECT_TRUE(p.holdsInflateState()); // inside the message
    ASSERT_TRUE(p.feed(frame(Opcode::Continuation, Bytes(z.begin() + 5, z.end())), sink).ok());
    EXPECT_FALSE(p.holdsInflateState()); // no context takeover: freed at the message end
  }
  {
    FrameParser p(deflateOptions(15, false));
    ASSERT_TRUE(p.feed(frame(Opcode::Text, bytes("not compressed")), sink).ok());
    EXPECT_FALSE(p.holdsInflateState()); // never used compression
    Compressor c(15, false);
    ASSERT_TRUE(p.feed(frame(Opcode::Text, c.compress(kText), true, true, 4), sink).ok());
    EXPECT_TRUE(p.holdsInflateState()); // the window is kept for the next message
  }
}

TEST(Inflate, EmptyCompressedMessage) {
  Compressor c(15, true);
  const Outcome run =
      parseAllWays(frame(Opcode::Text, c.compress(""), true, true, 4), deflateOptions());
  EXPECT_EQ(run.error, ParseError::None);
  EXPECT_EQ(run.messages, 1);
  // RFC 7692 section 7.2.3.6: an empty payload with RSV1 is an empty message too.
  EXPECT_EQ(parseAllWays(frame(Opcode::Text, Bytes{0x00}, true, true, 4), deflateOptions()).error,
            ParseError::None);
}

TEST(Inflate, UncompressedMessagesInADeflateSessionAreStillChecked) {
  EXPECT_EQ(parseAllWays(frame(Opcode::Text, bytes("\xc3\x28")), deflateOptions()).error,
            ParseError::InvalidUtf8);
}

} // namespace
} // namespace wsgate::ws
