// The relay, driven through a session on in-memory streams (a Relay reports to its Session):
// frames pass unchanged both ways whatever the read boundaries, wsgate's own pongs are cut out
// at every split point, control frames wait for frame boundaries, and a peer that breaks the
// rules gets its close code after the other peer's close completed, or a cut inside a frame.
#include "tests/unit/support/session_fixture.h"

namespace wsgate::proxy::test {
namespace {

using ws::Opcode;

// Frames of every length encoding, a fragmented message with a ping between its fragments,
// and application pings and pongs.
template <typename Make> Bytes mixedFrames(Make make) {
  const std::string big(70000, 'b');
  const std::string mid(126, 'm');
  const std::string small(125, 's');
  return concat({make({Opcode::Text, ""}), make({Opcode::Binary, "\x01"}),
                 make({Opcode::Text, small}), make({Opcode::Binary, mid}),
                 make({Opcode::Binary, big}), make({Opcode::Text, "frag", false}),
                 make({Opcode::Ping, "between"}), make({Opcode::Continuation, "mented", true}),
                 make({Opcode::Pong, "app pong"})});
}

class RelayFrames : public SessionFixture {
protected:
  void closeNormally() {
    clientSends(clientClose(1000, ""));
    backendSends(serverClose(1000, ""));
    backendEnds(UV_EOF);
    ASSERT_TRUE(ended());
  }
};

TEST_F(RelayFrames, ForwardedByteForByteBothWays) {
  open();
  const Bytes up = mixedFrames(clientFrame);
  const Bytes down = mixedFrames(serverFrame);
  clientSends(up);
  backendSends(down);
  EXPECT_EQ(Bytes(backendRecord().delivered.begin() + static_cast<std::ptrdiff_t>(request_bytes_),
                  backendRecord().delivered.end()),
            up);
  EXPECT_EQ(Bytes(clientRecord().delivered.begin() + static_cast<std::ptrdiff_t>(response_bytes_),
                  clientRecord().delivered.end()),
            down);
  closeNormally();
  const auto log = accessLog();
  EXPECT_EQ(log["messages_from_client"], 6);
  EXPECT_EQ(log["messages_to_client"], 6);
  EXPECT_EQ(log["bytes_from_client"], upgradeRequest("/chat").size() + up.size() + 8u);
}

TEST_F(RelayFrames, EverySplitPointGivesTheSameBytes) {
  // wsgate's own pong sits between application frames: it is cut out wherever the reads split.
  const Bytes head = clientFrame({Opcode::Text, "before"});
  const Bytes tail = concat({clientFrame({Opcode::Pong, "wsgate-hb"}),
                             clientFrame({Opcode::Binary, std::string(130, 'x')})});
  const Bytes expected = concat({head, tail});
  // One host runs a session per split point, one after the other.
  start("ping_interval = \"1s\"\npong_timeout = \"2s\"");
  for (std::size_t split = 1; split < head.size() + 17 + tail.size(); ++split) {
    SCOPED_TRACE("split at " + std::to_string(split));
    request();
    answer();
    host().advance(1000);
    ASSERT_EQ(clientSaw(), "ping(wsgate-hb:1)");
    const Bytes own = clientFrame({Opcode::Pong, "wsgate-hb:1"});
    const Bytes all = concat({head, own, tail});
    ASSERT_LT(split, all.size());
    clientSends(std::span<const uint8_t>(all.data(), split));
    clientSends(std::span<const uint8_t>(all.data() + split, all.size() - split));
    EXPECT_EQ(Bytes(backendRecord().delivered.begin() + static_cast<std::ptrdiff_t>(request_bytes_),
                    backendRecord().delivered.end()),
              expected);
    clientSends(clientClose(1000, ""));
    backendSends(serverClose(1000, ""));
    backendEnds(UV_EOF);
    ASSERT_EQ(host().session(), nullptr);
    EXPECT_EQ(accessLog()["ping_rtt_ms"], 0.0);
    ASSERT_EQ(host().leftovers(), "");
  }
  EXPECT_EQ(host().sessionsEnded(), head.size() + 16 + tail.size());
}

TEST_F(RelayFrames, ByteByByteReadsGiveTheSameFrames) {
  open();
  client().setReadChunk(1);
  backend().setReadChunk(1);
  const Bytes up = concat({clientFrame({Opcode::Text, "héllo"}), clientFrame({Opcode::Ping, "p"})});
  const Bytes down = serverFrame({Opcode::Binary, std::string(300, 'd')});
  clientSends(up);
  backendSends(down);
  EXPECT_EQ(backendSaw(), "text(héllo) ping(p)");
  EXPECT_EQ(clientSaw(), "binary[300]");
  EXPECT_EQ(bytesToBackend(), up.size());
  EXPECT_EQ(bytesToClient(), down.size());
  closeNormally();
}

TEST_F(RelayFrames, AValidMessageThenABadFrameTheAnswerComesBeforeThe1002) {
  open();
  clientSends(
      concat({clientFrame({Opcode::Text, "hello"}), clientFrame({Opcode::Text, "bad", true, 2})}));
  // The valid message goes on; the backend is told why the client goes.
  EXPECT_EQ(backendSaw(), "text(hello) close(1001,client sent a bad frame: reserved bits set)");
  EXPECT_EQ(clientSaw(), "") << "the client's close waits for the backend's close";
  // What the backend answers before its close reply still reaches the offender, then its code.
  backendSends(concat({serverFrame({Opcode::Text, "hello"}), serverClose(1001, "")}));
  EXPECT_EQ(clientSaw(), "text(hello) close(1002,reserved bits set)");
  EXPECT_TRUE(clientRecord().fin_sent);
  clientEnds(UV_EOF);
  backendEnds(UV_EOF);
  ASSERT_TRUE(ended());
  const auto log = accessLog();
  EXPECT_EQ(log["termination"], "protocol_error");
  EXPECT_EQ(log["violation"], "protocol");
  EXPECT_EQ(log["client_close_code"], 1002);
  EXPECT_EQ(log["client_close_reason"], "reserved bits set");
  EXPECT_EQ(log["client_closed_by"], "proxy");
  EXPECT_EQ(log["backend_close_code"], 1001);
  EXPECT_EQ(log["backend_close_reason"], "client sent a bad frame: reserved bits set");
}

TEST_F(RelayFrames, TheOffenderGetsItsCodeWhenTheOtherPeerLeavesWithoutReply) {
  open();
  clientSends(clientFrame({Opcode::Ping, "p", false}));
  EXPECT_EQ(backendSaw(), "close(1001,client sent a bad frame: fragmented control frame)");
  backendEnds(UV_EOF);
  EXPECT_EQ(clientSaw(), "close(1002,fragmented control frame)");
  clientEnds(UV_EOF);
  ASSERT_TRUE(ended());
}

TEST_F(RelayFrames, BackendInvalidUtf8Is1014ToTheClientAnd1007ToTheBackend) {
  open();
  backendSends(serverFrame({Opcode::Text, "a\xc0\xaf"}));
  EXPECT_EQ(clientSaw(), "close(1014,backend sent a bad frame: invalid UTF-8 in text message)");
  EXPECT_EQ(backendSaw(), "");
  clientSends(clientClose(1014, ""));
  EXPECT_EQ(backendSaw(), "close(1007,invalid UTF-8 in text message)");
  EXPECT_TRUE(toBackend().frames[0].masked);
  EXPECT_TRUE(clientRecord().closed);
  backendEnds(UV_EOF);
  ASSERT_TRUE(ended());
  const auto log = accessLog();
  EXPECT_EQ(log["termination"], "utf8_invalid");
  EXPECT_EQ(log["violation"], "utf8");
  EXPECT_EQ(log["client_close_code"], 1014);
  EXPECT_EQ(log["backend_close_code"], 1007);
}

TEST_F(RelayFrames, AClientViolationInsideAForwardedFrameCutsTheBackend) {
  open();
  std::string payload(1000, 'a');
  payload[990] = static_cast<char>(0xff);
  const Bytes frame = clientFrame({Opcode::Text, payload});
  clientSends(std::span<const uint8_t>(frame.data(), 500));
  EXPECT_EQ(bytesToBackend(), 500u);
  clientSends(std::span<const uint8_t>(frame.data() + 500, frame.size() - 500));
  // No close frame can follow the cut frame: the backend's TCP is closed after its 500 bytes.
  EXPECT_EQ(bytesToBackend(), 500u);
  EXPECT_TRUE(backendRecord().closed);
  EXPECT_EQ(clientSaw(), "close(1007,invalid UTF-8 in text message)");
  clientEnds(UV_EOF);
  ASSERT_TRUE(ended());
  const auto log = accessLog();
  EXPECT_EQ(log["termination"], "mid_frame_violation");
  EXPECT_EQ(log["violation"], "utf8");
  EXPECT_EQ(log["client_close_code"], 1007);
  EXPECT_EQ(log["backend_close_code"], 1006);
}

TEST_F(RelayFrames, ABackendViolationInsideAForwardedFrameCutsTheClient) {
  open();
  std::string payload(1000, 'b');
  payload[990] = static_cast<char>(0xff);
  const Bytes frame = serverFrame({Opcode::Text, payload});
  backendSends(std::span<const uint8_t>(frame.data(), 500));
  EXPECT_EQ(bytesToClient(), 500u);
  backendSends(std::span<const uint8_t>(frame.data() + 500, frame.size() - 500));
  EXPECT_EQ(bytesToClient(), 500u);
  EXPECT_TRUE(clientRecord().closed);
  EXPECT_EQ(backendSaw(), "close(1007,invalid UTF-8 in text message)");
  EXPECT_TRUE(toBackend().frames[0].masked);
  backendEnds(UV_EOF);
  ASSERT_TRUE(ended());
  const auto log = accessLog();
  EXPECT_EQ(log["termination"], "mid_frame_violation");
  EXPECT_EQ(log["client_close_code"], 1006);
  EXPECT_EQ(log["backend_close_code"], 1007);
  EXPECT_EQ(log["backend_close_reason"], "invalid UTF-8 in text message");
}

TEST_F(RelayFrames, OverTheMessageRateTheClientGets4002) {
  open("max_messages_per_second = 2");
  clientSends(concat({clientFrame({Opcode::Text, "1"}), clientFrame({Opcode::Text, "2"}),
                      clientFrame({Opcode::Text, "3"})}));
  EXPECT_EQ(backendSaw(), "text(1) text(2) close(1001,client exceeded its message rate limit)");
  backendSends(serverClose(1001, ""));
  EXPECT_EQ(clientSaw(), "close(4002,message rate limit exceeded)");
  clientEnds(UV_EOF);
  backendEnds(UV_EOF);
  ASSERT_TRUE(ended());
  EXPECT_EQ(accessLog()["termination"], "rate_limited");
}

TEST_F(RelayFrames, APingFromTheBackendWaitsForTheEndOfAClientBoundFrame) {
  open("ping_interval = \"1s\"\npong_timeout = \"2s\"");
  const Bytes frame = serverFrame({Opcode::Binary, std::string(2000, 'f')});
  backendSends(std::span<const uint8_t>(frame.data(), 1000));
  host().advance(1000); // wsgate's ping is due inside the frame
  EXPECT_EQ(bytesToClient(), 1000u);
  backendSends(std::span<const uint8_t>(frame.data() + 1000, frame.size() - 1000));
  EXPECT_EQ(clientSaw(), "binary[2000] ping(wsgate-hb:1)");
  closeNormally();
}

} // namespace
} // namespace wsgate::proxy::test
