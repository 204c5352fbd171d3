#include "common/ws/close.h"
#include "common/ws/frame_parser.h"
#include "common/ws/frame_writer.h"
#include "common/ws/mask.h"

#include <cstdint>
#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace wsgate::ws {
namespace {

using Bytes = std::vector<uint8_t>;

// Records every event as text so that runs over different splits can be compared.
class Recorder : public FrameSink {
public:
  void onFrameHeader(const FrameHeader& h) override {
    log += "H" + std::to_string(static_cast<int>(h.opcode)) + (h.fin ? "F" : "-") +
           std::to_string(h.payload_length) + ";";
    current.clear();
  }
  void onPayload(const FrameHeader& h, std::span<const uint8_t> wire) override {
    const std::size_t offset = current.size();
    current.insert(current.end(), wire.begin(), wire.end());
    if (h.masked) {
      unmaskInPlace(std::span<uint8_t>(current.data() + offset, wire.size()), h.mask, offset);
    }
  }
  void onFrameEnd(const FrameHeader& h, std::span<const uint8_t> control,
                  std::size_t end) override {
    (void)end;
    const Bytes& body = isControl(h.opcode) ? Bytes(control.begin(), control.end()) : current;
    log += "E[" + std::string(body.begin(), body.end()) + "];";
    ++frames;
  }
  std::string log;
  Bytes current;
  int frames = 0;
};

struct Outcome {
  std::string log;
  ParseError error = ParseError::None;
  std::size_t error_at = 0; // absolute offset in the whole input
  bool operator==(const Outcome&) const = default;
};

Outcome runChunks(const Bytes& input, const std::vector<std::size_t>& cuts,
                  const ParserOptions& options) {
  FrameParser parser(options);
  Recorder sink;
  Outcome out;
  std::size_t start = 0;
  std::vector<std::size_t> bounds = cuts;
  bounds.push_back(input.size());
  for (const std::size_t end : bounds) {
    const FeedResult r =
        parser.feed(std::span<const uint8_t>(input.data() + start, end - start), sink);
    if (!r.ok()) {
      out.error = r.error;
      out.error_at = start + r.consumed;
      break;
    }
    start = end;
  }
  out.log = sink.log;
  return out;
}

// Feeds `input` whole, byte by byte and split in two at every point; all must agree.
Outcome parseAllWays(const Bytes& input, const ParserOptions& options) {
  const Outcome whole = runChunks(input, {}, options);
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < input.size(); ++i)
    every.push_back(i);
  const Outcome bytewise = runChunks(input, every, options);
  EXPECT_EQ(whole.log, bytewise.log);
  EXPECT_EQ(whole.error, bytewise.error);
  for (std::size_t i = 1; i < input.size(); ++i) {
    const Outcome split = runChunks(input, {i}, options);
    EXPECT_EQ(whole.log, split.log) << "split at " << i;
    EXPECT_EQ(whole.error, split.error) << "split at " << i;
  }
  return whole;
}

ParserOptions clientOptions() {
  return ParserOptions{};
}

ParserOptions serverOptions() {
  ParserOptions o;
  o.peer = Role::Server;
  return o;
}

const MaskKey kKey{0x37, 0xfa, 0x21, 0x3d};

// A frame as a client would send it (masked with kKey) or a server (unmasked).
Bytes frame(Opcode op, std::string_view payload, bool fin = true, bool masked = true,
            uint8_t rsv = 0) {
  Bytes out(kMaxFrameHeader + payload.size());
  std::size_t n = writeFrameHeader(out.data(), fin, op, payload.size(), masked ? &kKey : nullptr);
  out[0] |= static_cast<uint8_t>(rsv << 4);
  std::span<const uint8_t> p(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
  if (masked) {
    unmaskCopy(p, out.data() + n, kKey, 0);
  } else {
    std::copy(p.begin(), p.end(), out.begin() + static_cast<std::ptrdiff_t>(n));
  }
  out.resize(n + payload.size());
  return out;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

// RFC 6455 section 5.7 examples.
TEST(FrameParserRfc, SingleFrameUnmaskedText) {
  const Bytes in{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  EXPECT_EQ(parseAllWays(in, serverOptions()).log, "H1F5;E[Hello];");
}

TEST(FrameParserRfc, SingleFrameMaskedText) {
  const Bytes in{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
  EXPECT_EQ(parseAllWays(in, clientOptions()).log, "H1F5;E[Hello];");
}

TEST(FrameParserRfc, FragmentedUnmaskedText) {
  const Bytes in{0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f};
  EXPECT_EQ(parseAllWays(in, serverOptions()).log, "H1-3;E[Hel];H0F2;E[lo];");
}

TEST(FrameParserRfc, PingAndMaskedPong) {
  const Bytes ping{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  EXPECT_EQ(parseAllWays(ping, serverOptions()).log, "H9F5;E[Hello];");
  const Bytes pong{0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
  EXPECT_EQ(parseAllWays(pong, clientOptions()).log, "H10F5;E[Hello];");
}

TEST(FrameParserRfc, Binary256And64KiBLengths) {
  const Bytes h256{0x82, 0x7E, 0x01, 0x00};
  Bytes in = h256;
  in.resize(4 + 256, 'a');
  FrameParser p(serverOptions());
  Recorder r;
  ASSERT_TRUE(p.feed(in, r).ok());
  EXPECT_EQ(r.frames, 1);
  Bytes big{0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0};
  big.resize(10 + 65536, 'b');
  FrameParser p2(serverOptions());
  Recorder r2;
  ASSERT_TRUE(p2.feed(big, r2).ok());
  EXPECT_EQ(r2.log.substr(0, 11), "H2F65536;E[");
  EXPECT_TRUE(p2.atFrameBoundary());
}

TEST(FrameParser, ControlFrameInterleavedInFragmentedMessage) {
  const Bytes in = cat({frame(Opcode::Text, "ab", false), frame(Opcode::Ping, "p"),
                        frame(Opcode::Continuation, "cd", false), frame(Opcode::Pong, ""),
                        frame(Opcode::Continuation, "ef", true)});
  EXPECT_EQ(parseAllWays(in, clientOptions()).log,
            "H1-2;E[ab];H9F1;E[p];H0-2;E[cd];H10F0;E[];H0F2;E[ef];");
}

TEST(FrameParser, ReportsFrameEndOffsets) {
  const Bytes in = cat({frame(Opcode::Text, "abc"), frame(Opcode::Binary, "")});
  struct Ends : FrameSink {
    void onFrameEnd(const FrameHeader&, std::span<const uint8_t>, std::size_t end) override {
      ends.push_back(end);
    }
    std::vector<std::size_t> ends;
  } sink;
  FrameParser p;
  ASSERT_TRUE(p.feed(in, sink).ok());
  EXPECT_EQ(sink.ends, (std::vector<std::size_t>{9, 15}));
}

TEST(FrameParser, AtFrameBoundaryOnlyBetweenFrames) {
  const Bytes in = frame(Opcode::Text, "hello");
  FrameParser p;
  Recorder r;
  EXPECT_TRUE(p.atFrameBoundary());
  ASSERT_TRUE(p.feed(std::span<const uint8_t>(in.data(), 1), r).ok());
  EXPECT_FALSE(p.atFrameBoundary());
  ASSERT_TRUE(p.feed(std::span<const uint8_t>(in.data() + 1, 7), r).ok());
  EXPECT_FALSE(p.atFrameBoundary());
  ASSERT_TRUE(p.feed(std::span<const uint8_t>(in.data() + 8, in.size() - 8), r).ok());
  EXPECT_TRUE(p.atFrameBoundary());
}

struct ErrorCase {
  const char* name;
  Bytes input;
  ParserOptions options;
  ParseError error;
  uint16_t close_code;
  std::size_t error_at;
};

ParserOptions limits(uint64_t frame, uint64_t message) {
  ParserOptions o;
  o.max_frame_size = frame;
  o.max_message_size = message;
  return o;
}

ParserOptions noBinary() {
  ParserOptions o;
  o.allow_binary = false;
  return o;
}

Bytes closeFrame(uint16_t code, std::string_view reason) {
  std::string payload{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
  payload.append(reason);
  return frame(Opcode::Close, payload);
}

std::vector<ErrorCase> errorCases() {
  const Bytes ok = frame(Opcode::Text, "ok");
  const std::size_t n = ok.size();
  return {
      {"rsv1",
       cat({ok, frame(Opcode::Text, "x", true, true, 4)}),
       {},
       ParseError::ReservedBits,
       1002,
       n},
      {"rsv3", frame(Opcode::Binary, "x", true, true, 1), {}, ParseError::ReservedBits, 1002, 0},
      {"opcode3", Bytes{0x83, 0x80, 0, 0, 0, 0}, {}, ParseError::ReservedOpcode, 1002, 0},
      {"opcodeB", Bytes{0x8B, 0x80, 0, 0, 0, 0}, {}, ParseError::ReservedOpcode, 1002, 0},
      {"unmasked client",
       cat({ok, frame(Opcode::Text, "x", true, false)}),
       {},
       ParseError::UnmaskedFrame,
       1002,
       n + 1},
      {"masked server", frame(Opcode::Text, "x", true, true), serverOptions(),
       ParseError::MaskedFrame, 1002, 1},
      {"control too long", Bytes{0x89, 0xFE, 0x00, 0x7E}, {}, ParseError::ControlTooLong, 1002, 1},
      {"control fragmented",
       frame(Opcode::Ping, "x", false),
       {},
       ParseError::ControlFragmented,
       1002,
       0},
      {"continuation first",
       frame(Opcode::Continuation, "x"),
       {},
       ParseError::UnexpectedContinuation,
       1002,
       0},
      {"text inside message",
       cat({frame(Opcode::Text, "a", false), frame(Opcode::Text, "b")}),
       {},
       ParseError::ExpectedContinuation,
       1002,
       7},
      {"length high bit",
       Bytes{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0},
       {},
       ParseError::LengthHighBit,
       1002,
       2},
      {"non-minimal 16",
       Bytes{0x82, 0xFE, 0x00, 0x7D, 1, 2, 3, 4},
       {},
       ParseError::NonMinimalLength,
       1002,
       3},
      {"non-minimal 64",
       Bytes{0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF},
       {},
       ParseError::NonMinimalLength,
       1002,
       9},
      {"close one byte",
       frame(Opcode::Close, "\x03"),
       {},
       ParseError::ClosePayloadOneByte,
       1002,
       6},
      {"close code 1005", closeFrame(1005, ""), {}, ParseError::InvalidCloseCode, 1002, 7},
      {"close code 999", closeFrame(999, ""), {}, ParseError::InvalidCloseCode, 1002, 7},
      {"close code 5000", closeFrame(5000, ""), {}, ParseError::InvalidCloseCode, 1002, 7},
      {"close bad reason", closeFrame(1000, "\xff"), {}, ParseError::InvalidCloseReason, 1007, 8},
      {"bad utf8",
       cat({ok, frame(Opcode::Text, "a\xc0\xafz")}),
       {},
       ParseError::InvalidUtf8,
       1007,
       n + 9},
      {"truncated utf8", frame(Opcode::Text, "a\xe2\x82"), {}, ParseError::InvalidUtf8, 1007, 8},
      {"utf8 across fragments",
       cat({frame(Opcode::Text, "\xe2\x82", false), frame(Opcode::Continuation, "\x28")}),
       {},
       ParseError::InvalidUtf8,
       1007,
       14},
      {"binary not allowed", frame(Opcode::Binary, "x"), noBinary(), ParseError::BinaryNotAllowed,
       1008, 0},
      {"frame too big", cat({ok, frame(Opcode::Binary, "12345")}), limits(4, 100),
       ParseError::FrameTooBig, 1009, n + 1},
      {"message too big",
       cat({frame(Opcode::Text, "1234", false), frame(Opcode::Ping, "p"),
            frame(Opcode::Continuation, "5678", false), frame(Opcode::Continuation, "9")}),
       limits(4, 8), ParseError::MessageTooBig, 1009, 28},
  };
}

TEST(FrameParserErrors, EveryRuleGivesItsCloseCodeAtTheRightByte) {
  for (const ErrorCase& c : errorCases()) {
    SCOPED_TRACE(c.name);
    const Outcome out = parseAllWays(c.input, c.options);
    EXPECT_EQ(out.error, c.error) << reasonFor(out.error);
    EXPECT_EQ(closeCodeFor(out.error), c.close_code);
    EXPECT_EQ(out.error_at, c.error_at);
    EXPECT_NE(std::string(reasonFor(c.error)), "");
  }
}

TEST(FrameParserErrors, FramesBeforeTheErrorAreReported) {
  const Bytes in = cat({frame(Opcode::Text, "ok"), frame(Opcode::Text, "x", true, false)});
  const Outcome out = parseAllWays(in, clientOptions());
  EXPECT_EQ(out.log, "H1F2;E[ok];");
  EXPECT_EQ(out.error, ParseError::UnmaskedFrame);
}

TEST(FrameParserErrors, ParserStaysFailed) {
  FrameParser p;
  Recorder r;
  const Bytes bad{0x83, 0x80, 0, 0, 0, 0};
  EXPECT_EQ(p.feed(bad, r).error, ParseError::ReservedOpcode);
  const Bytes ok = frame(Opcode::Text, "ok");
  EXPECT_EQ(p.feed(ok, r).error, ParseError::ReservedOpcode);
  EXPECT_EQ(r.frames, 0);
}

// RFC 6455 section 5.5.1: after a close frame the endpoint discards what follows; even bytes
// that are no frame at all are consumed without an error (Autobahn 7.1.2-7.1.5).
TEST(FrameParser, BytesAfterCloseAreDiscarded) {
  FrameParser parser(ParserOptions{}); // client frames: masked
  Recorder sink;
  Bytes input = closeFrame(1000, "bye");
  const Bytes garbage = {0x81, 0x05, 'h', 'e', 'l', 'l', 'o', 0xff, 0x00};
  input.insert(input.end(), garbage.begin(), garbage.end());
  const FeedResult first = parser.feed(input, sink);
  EXPECT_TRUE(first.ok());
  EXPECT_TRUE(parser.closed());
  EXPECT_EQ(sink.frames, 1);
  const FeedResult second = parser.feed(garbage, sink);
  EXPECT_TRUE(second.ok());
  EXPECT_EQ(parser.error(), ParseError::None);
  EXPECT_EQ(sink.frames, 1);
}

TEST(FrameParser, LimitsAreInclusive) {
  const Bytes in = cat({frame(Opcode::Text, "1234", false), frame(Opcode::Continuation, "5678")});
  EXPECT_EQ(parseAllWays(in, limits(4, 8)).error, ParseError::None);
}

TEST(FrameParser, Utf8OffAcceptsInvalidText) {
  ParserOptions o;
  o.validate_utf8 = false;
  EXPECT_EQ(parseAllWays(frame(Opcode::Text, "\xff\xfe"), o).error, ParseError::None);
}

TEST(FrameParser, NegotiatedRsv1OnlyOnFirstDataFrame) {
  ParserOptions o;
  o.allowed_rsv = 0x4;
  EXPECT_EQ(parseAllWays(frame(Opcode::Binary, "x", true, true, 4), o).error, ParseError::None);
  EXPECT_EQ(parseAllWays(frame(Opcode::Ping, "x", true, true, 4), o).error,
            ParseError::ReservedBits);
}

TEST(FrameParser, ValidCloseCodesPass) {
  for (const uint16_t code :
       {1000, 1001, 1002, 1003, 1007, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999}) {
    SCOPED_TRACE(code);
    const Outcome out = parseAllWays(closeFrame(code, "bye \xc3\xa9"), clientOptions());
    EXPECT_EQ(out.error, ParseError::None);
  }
  EXPECT_EQ(parseAllWays(frame(Opcode::Close, ""), clientOptions()).error, ParseError::None);
}

TEST(FrameParser, LongMaskedTextValidatedAcrossScratchBlocks) {
  std::string text;
  while (text.size() < 20000)
    text += "h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x98\x80 ";
  const Bytes in = frame(Opcode::Text, text);
  FrameParser p;
  Recorder r;
  for (std::size_t step : {1u, 7u, 4096u, 5000u}) {
    FrameParser q;
    Recorder rq;
    for (std::size_t i = 0; i < in.size(); i += step) {
      const std::size_t n = std::min(step, in.size() - i);
      ASSERT_TRUE(q.feed(std::span<const uint8_t>(in.data() + i, n), rq).ok()) << step;
    }
    EXPECT_EQ(std::string(rq.current.begin(), rq.current.end()), text);
  }
  // A bad byte deep in the frame is still caught.
  std::string bad = text;
  bad[15000] = '\xff';
  EXPECT_EQ(p.feed(frame(Opcode::Text, bad), r).error, ParseError::InvalidUtf8);
}

TEST(CloseCodes, WireValidity) {
  for (uint32_t code = 0; code < 6000; ++code) {
    const bool expected = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                          (code >= 3000 && code <= 4999);
    EXPECT_EQ(isValidCloseCode(static_cast<uint16_t>(code)), expected) << code;
  }
}

TEST(CloseCodes, NamesForLogs) {
  EXPECT_EQ(describeCloseCode(1009), "1009 message too big");
  EXPECT_EQ(describeCloseCode(1006), "1006 abnormal closure");
  EXPECT_EQ(describeCloseCode(4002), "4002 rate limited");
  EXPECT_EQ(describeCloseCode(4100), "4100 private");
  EXPECT_EQ(describeCloseCode(3001), "3001 registered");
  EXPECT_EQ(describeCloseCode(1004), "1004 invalid");
}

TEST(CloseCodes, ParsePayload) {
  const Bytes p{0x03, 0xE9, 'b', 'y', 'e'};
  ClosePayload out;
  ASSERT_EQ(parseClosePayload(p, out), CloseParseError::None);
  EXPECT_EQ(out.code, 1001);
  EXPECT_EQ(out.reason, "bye");
  ASSERT_EQ(parseClosePayload({}, out), CloseParseError::None);
  EXPECT_EQ(out.code, close_code::kNoStatus);
  const Bytes one{0x03};
  EXPECT_EQ(parseClosePayload(one, out), CloseParseError::OneByte);
  const Bytes bad{0x03, 0xEE};
  EXPECT_EQ(parseClosePayload(bad, out), CloseParseError::InvalidCode);
  const Bytes badReason{0x03, 0xE8, 0xED, 0xA0, 0x80};
  EXPECT_EQ(parseClosePayload(badReason, out), CloseParseError::InvalidUtf8);
}

TEST(FrameWriter, CloseFrameRoundTripsAndTruncatesAtUtf8Boundary) {
  std::string reason(122, 'x');
  reason += "\xc3\xa9"; // 124 bytes: the 2-byte character does not fit
  const ControlFrame f = ControlFrame::close(1009, reason);
  ASSERT_EQ(f.size(), 2u + 2 + 122);
  FrameParser p(serverOptions());
  Recorder r;
  ASSERT_TRUE(p.feed(f.bytes(), r).ok());
  EXPECT_TRUE(p.closed());
  EXPECT_EQ(r.log, "H8F124;E[\x03\xf1" + std::string(122, 'x') + "];");
}

TEST(FrameWriter, MaskedPingParsesAsClientFrame) {
  const std::string payload = "wsgate:1";
  const ControlFrame f = ControlFrame::make(
      Opcode::Ping, std::span(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()),
      &kKey);
  FrameParser p(clientOptions());
  Recorder r;
  ASSERT_TRUE(p.feed(f.bytes(), r).ok());
  EXPECT_EQ(r.log, "H9F8;E[wsgate:1];");
}

TEST(FrameWriter, HeaderLengthEncodings) {
  uint8_t out[kMaxFrameHeader];
  EXPECT_EQ(writeFrameHeader(out, true, Opcode::Text, 125), 2u);
  EXPECT_EQ(writeFrameHeader(out, true, Opcode::Text, 126), 4u);
  EXPECT_EQ(out[1], 126);
  EXPECT_EQ(writeFrameHeader(out, true, Opcode::Text, 65535), 4u);
  EXPECT_EQ(writeFrameHeader(out, true, Opcode::Text, 65536, &kKey), 14u);
  EXPECT_EQ(out[1], 0x80 | 127);
  EXPECT_EQ(out[7], 1);
}

} // namespace
} // namespace wsgate::ws
