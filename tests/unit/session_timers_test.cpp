// A session's timers on a manual clock: heartbeat pings at ping_interval and the pong timeout,
// wsgate's own pongs cut out of the stream, idle_timeout and max_session_lifetime, and the
// handshake timeout. Each test moves the clock to the millisecond a rule names.
#include "tests/unit/support/session_fixture.h"

namespace wsgate::proxy::test {
namespace {

using ws::Opcode;

constexpr std::string_view kHeartbeat = "ping_interval = \"1s\"\npong_timeout = \"2s\"";

class SessionTimers : public SessionFixture {
protected:
  // The client answers the last ping it got with a pong carrying the same payload.
  void pongLastPing() {
    const auto frames = toClient().frames;
    ASSERT_FALSE(frames.empty());
    ASSERT_EQ(frames.back().opcode, Opcode::Ping);
    clientSends(clientFrame({Opcode::Pong, frames.back().payload}));
  }
  // Both peers answer a close wsgate sent them, and the backend closes its TCP.
  void answerCloses(uint16_t client_code, uint16_t backend_code) {
    clientSends(clientClose(client_code, ""));
    backendSends(serverClose(backend_code, ""));
    backendEnds(UV_EOF);
  }
};

TEST_F(SessionTimers, PingAtTheIntervalOwnPongCutOut) {
  open(kHeartbeat);
  host().advance(999);
  EXPECT_EQ(clientSaw(), "");
  host().advance(1);
  EXPECT_EQ(clientSaw(), "ping(wsgate-hb:1)");
  EXPECT_FALSE(toClient().frames[0].masked);
  host().advance(50);
  pongLastPing();
  // The pong was wsgate's own: it never reaches the backend.
  EXPECT_EQ(bytesToBackend(), 0u);
  // The next ping comes one interval after the pong, with a new payload.
  host().advance(999);
  EXPECT_EQ(clientSaw(), "ping(wsgate-hb:1)");
  host().advance(1);
  EXPECT_EQ(clientSaw(), "ping(wsgate-hb:1) ping(wsgate-hb:2)");
  host().advance(75);
  pongLastPing();
  // Order is kept: a message after the pongs is the first thing the backend gets.
  clientSends(clientFrame({Opcode::Text, "after the pongs"}));
  EXPECT_EQ(backendSaw(), "text(after the pongs)");
  answerCloses(1000, 1000);
  ASSERT_TRUE(ended());
  const auto log = accessLog();
  EXPECT_EQ(log["termination"], "normal");
  EXPECT_EQ(log["ping_rtt_ms"], 75.0) << "the last pong came 75 ms after its ping";
  EXPECT_EQ(host().stats().pings_sent.get(), 2u);
  EXPECT_EQ(host().stats().pongs_received.get(), 2u);
  EXPECT_EQ(log["messages_from_client"], 1);
}

TEST_F(SessionTimers, PongSplitAcrossReadsIsStillCutOut) {
  open(kHeartbeat);
  host().advance(1000);
  const auto frames = toClient().frames;
  ASSERT_EQ(frames.size(), 1u);
  const Bytes pong = clientFrame({Opcode::Pong, frames[0].payload});
  client().setReadChunk(1); // every byte its own read
  clientSends(pong);
  EXPECT_EQ(bytesToBackend(), 0u);
  clientSends(clientFrame({Opcode::Text, "x"}));
  EXPECT_EQ(backendSaw(), "text(x)");
  answerCloses(1000, 1000);
  ASSERT_TRUE(ended());
  EXPECT_EQ(accessLog()["ping_rtt_ms"], 0.0);
}

TEST_F(SessionTimers, ApplicationPongsPassEvenWithTheTagPrefix) {
  open(kHeartbeat);
  // Not wsgate's tag (no colon): the application's, forwarded.
  clientSends(clientFrame({Opcode::Pong, "wsgate-hb"}));
  EXPECT_EQ(backendSaw(), "pong(wsgate-hb)");
  // The backend's pings and the client's pings pass both ways.
  backendSends(serverFrame({Opcode::Ping, "app-ping"}));
  clientSends(clientFrame({Opcode::Ping, "client-ping"}));
  EXPECT_EQ(clientSaw(), "ping(app-ping)");
  EXPECT_EQ(backendSaw(), "pong(wsgate-hb) ping(client-ping)");
  answerCloses(1000, 1000);
  ASSERT_TRUE(ended());
}

TEST_F(SessionTimers, AStaleTaggedPongIsCutButIsNoAnswer) {
  open(kHeartbeat);
  host().advance(1000);
  ASSERT_EQ(clientSaw(), "ping(wsgate-hb:1)");
  // A pong with wsgate's tag and another counter: dropped, and the ping is still unanswered
  // (it came in the ping's millisecond, so it is not data newer than the ping either).
  clientSends(clientFrame({Opcode::Pong, "wsgate-hb:7"}));
  EXPECT_EQ(bytesToBackend(), 0u);
  host().advance(1999);
  EXPECT_FALSE(clientRecord().closed);
  host().advance(1);
  EXPECT_TRUE(clientRecord().closed);
  EXPECT_EQ(backendSaw(), "close(1001,client heartbeat timeout)");
  backendSends(serverClose(1001, ""));
  backendEnds(UV_EOF);
  ASSERT_TRUE(ended());
  EXPECT_TRUE(accessLog()["ping_rtt_ms"].is_null());
}

TEST_F(SessionTimers, PongTimeoutCutsTheClientAndTellsTheBackend) {
  open(kHeartbeat);
  host().advance(1000);
  ASSERT_EQ(clientSaw(), "ping(wsgate-hb:1)");
  host().advance(1999);
  EXPECT_FALSE(clientRecord().closed) << "pong_timeout is 2 s after the ping";
  host().advance(1);
  // The client's TCP is cut (no close frame after the ping); the backend gets a masked 1001.
  EXPECT_TRUE(clientRecord().closed);
  EXPECT_EQ(clientSaw(), "ping(wsgate-hb:1)");
  EXPECT_EQ(backendSaw(), "close(1001,client heartbeat timeout)");
  EXPECT_TRUE(toBackend().frames[0].masked);
  backendSends(serverClose(1001, "client heartbeat timeout"));
  EXPECT_TRUE(backendRecord().fin_sent);
  backendEnds(UV_EOF);
  ASSERT_TRUE(ended());
  const auto log = accessLog();
  EXPECT_EQ(log["termination"], "heartbeat_timeout");
  EXPECT_EQ(log["client_close_code"], 1006);
  EXPECT_EQ(log["client_close_reason"], "no pong within pong_timeout");
  EXPECT_EQ(log["client_closed_by"], "proxy");
  EXPECT_EQ(log["backend_close_code"], 1001);
  EXPECT_EQ(log["backend_close_reason"], "client heartbeat timeout");
  EXPECT_TRUE(log["ping_rtt_ms"].is_null());
  EXPECT_EQ(host().stats().heartbeat_timeouts.get(), 1u);
}

TEST_F(SessionTimers, AClientThatSpokeLatelyIsNotPinged) {
  open(kHeartbeat);
  host().advance(600);
  clientSends(clientFrame({Opcode::Text, "hello"}));
  host().advance(400);
  EXPECT_EQ(clientSaw(), "") << "the client spoke 400 ms ago";
  host().advance(599);
  EXPECT_EQ(clientSaw(), "");
  host().advance(1);
  EXPECT_EQ(clientSaw(), "ping(wsgate-hb:1)") << "1 s after the client's last data";
  // Data after the ping (a pong stuck behind a long message) keeps the session alive.
  host().advance(100);
  clientSends(clientFrame({Opcode::Binary, "long message"}));
  host().advance(1900);
  EXPECT_FALSE(clientRecord().closed);
  EXPECT_EQ(clientSaw(), "ping(wsgate-hb:1)");
  host().advance(1000);
  EXPECT_EQ(clientSaw(), "ping(wsgate-hb:1) ping(wsgate-hb:2)");
  answerCloses(1000, 1000);
  ASSERT_TRUE(ended());
}

TEST_F(SessionTimers, IdleTimeoutClosesBothWith1001) {
  open("idle_timeout = \"1s\"");
  host().advance(600);
  backendSends(serverFrame({Opcode::Text, "traffic"}));
  host().advance(999);
  EXPECT_EQ(clientSaw(), "text(traffic)") << "idle for 999 ms";
  host().advance(1);
  EXPECT_EQ(clientSaw(), "text(traffic) close(1001,idle timeout)");
  EXPECT_EQ(backendSaw(), "close(1001,idle timeout)");
  answerCloses(1001, 1001);
  ASSERT_TRUE(ended());
  const auto log = accessLog();
  EXPECT_EQ(log["termination"], "idle_timeout");
  EXPECT_EQ(log["client_close_code"], 1001);
  EXPECT_EQ(log["client_close_reason"], "idle timeout");
  EXPECT_EQ(log["client_closed_by"], "proxy");
  EXPECT_EQ(log["backend_close_code"], 1001);
  EXPECT_EQ(log["backend_close_reason"], "idle timeout");
  EXPECT_EQ(log["backend_closed_by"], "proxy");
}

TEST_F(SessionTimers, LifetimeClosesWith4003WhateverTheTraffic) {
  open("max_session_lifetime = \"1s\"");
  host().advance(500);
  clientSends(clientFrame({Opcode::Text, "busy"}));
  host().advance(499);
  EXPECT_EQ(clientSaw(), "");
  host().advance(1);
  EXPECT_EQ(clientSaw(), "close(4003,maximum session lifetime reached)");
  EXPECT_EQ(backendSaw(), "text(busy) close(1001,client session lifetime reached)");
  answerCloses(4003, 1001);
  ASSERT_TRUE(ended());
  const auto log = accessLog();
  EXPECT_EQ(log["termination"], "lifetime");
  EXPECT_EQ(log["violation"], "lifetime");
  EXPECT_EQ(log["client_close_code"], 4003);
  EXPECT_EQ(log["backend_close_code"], 1001);
  EXPECT_EQ(log["backend_close_reason"], "client session lifetime reached");
}

TEST_F(SessionTimers, TimersStopOnceTheSessionCloses) {
  open("ping_interval = \"1s\"\npong_timeout = \"2s\"\nidle_timeout = \"3s\"\n"
       "max_session_lifetime = \"4s\"");
  clientSends(clientClose(1000, ""));
  // Past the ping, the idle timeout and the lifetime, within the close timeout: while closing,
  // wsgate sends neither a ping nor a close of its own.
  host().advance(4000);
  EXPECT_EQ(clientSaw(), "");
  EXPECT_EQ(backendSaw(), "close(1000,)");
  backendSends(serverClose(1000, ""));
  backendEnds(UV_EOF);
  ASSERT_TRUE(ended());
}

TEST_F(SessionTimers, HandshakeTimeoutAnswers408) {
  start("handshake_timeout = \"2s\"");
  host().startSession();
  client_ = host().streams().find("client");
  clientSends(std::string_view("GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  host().advance(1999);
  EXPECT_EQ(clientRecord().deliveredText(), "");
  host().advance(1);
  EXPECT_TRUE(clientRecord().deliveredText().starts_with("HTTP/1.1 408 "))
      << clientRecord().deliveredText();
  EXPECT_TRUE(clientRecord().deliveredText().ends_with(
      "the upgrade request was not complete within handshake_timeout\n"));
  EXPECT_TRUE(clientRecord().fin_sent) << "lingering close: FIN after the response";
  clientEnds(UV_EOF);
  ASSERT_TRUE(ended());
  EXPECT_EQ(accessLog()["termination"], "handshake_timeout");
  EXPECT_EQ(accessLog()["status"], 408);
}

} // namespace
} // namespace wsgate::proxy::test
