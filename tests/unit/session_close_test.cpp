// The close rules of a session, each close order on in-memory streams with a manual clock:
// client first, backend first, both at once, a peer that never answers (close timeout), a peer
// that vanishes between frames or inside one. Every test ends with all handles closed (see
// SessionFixture::TearDown).
#include "common/ws/close.h"
#include "tests/unit/support/session_fixture.h"

namespace wsgate::proxy::test {
namespace {

using ws::Opcode;

class SessionClose : public SessionFixture {};

TEST_F(SessionClose, ClientClosesFirst) {
  open();
  const Bytes close = clientClose(1000, "bye");
  clientSends(close);
  // The client's close goes to the backend unchanged (still masked with the client's key).
  EXPECT_EQ(Bytes(backendRecord().delivered.begin() + static_cast<std::ptrdiff_t>(request_bytes_),
                  backendRecord().delivered.end()),
            close);
  EXPECT_EQ(backendSaw(), "close(1000,bye)");
  EXPECT_TRUE(toBackend().frames[0].masked);
  EXPECT_FALSE(backendRecord().fin_sent) << "wsgate waits for the backend's reply";

  backendSends(serverClose(1000, "bye"));
  EXPECT_EQ(clientSaw(), "close(1000,bye)");
  EXPECT_FALSE(toClient().frames[0].masked);
  // Both closes crossed on the client leg, where wsgate is the server: it closes that TCP
  // connection first. Toward the backend it is the client: it half-closes and waits.
  EXPECT_TRUE(clientRecord().closed);
  EXPECT_TRUE(backendRecord().fin_sent);
  EXPECT_FALSE(backendRecord().closed);

  backendEnds(UV_EOF);
  ASSERT_TRUE(ended());
  const auto log = accessLog();
  EXPECT_EQ(log["termination"], "normal");
  EXPECT_EQ(log["client_close_code"], 1000);
  EXPECT_EQ(log["client_close_reason"], "bye");
  EXPECT_EQ(log["client_closed_by"], "client");
  EXPECT_EQ(log["backend_close_code"], 1000);
  EXPECT_EQ(log["backend_close_reason"], "bye");
  EXPECT_EQ(log["backend_closed_by"], "client");
  EXPECT_EQ(log["bytes_from_client"], upgradeRequest("/chat").size() + close.size());
}

TEST_F(SessionClose, BackendClosesFirstAfterItsLastMessage) {
  open();
  backendSends(
      concat({serverFrame({Opcode::Text, "last words"}), serverClose(4000, "server going away")}));
  EXPECT_EQ(clientSaw(), "text(last words) close(4000,server going away)");
  EXPECT_FALSE(clientRecord().closed) << "the client's reply is awaited";

  clientSends(clientClose(4000, "ack"));
  EXPECT_EQ(backendSaw(), "close(4000,ack)");
  EXPECT_TRUE(toBackend().frames[0].masked);
  EXPECT_TRUE(clientRecord().closed);
  EXPECT_TRUE(backendRecord().fin_sent);

  backendEnds(UV_EOF);
  ASSERT_TRUE(ended());
  const auto log = accessLog();
  EXPECT_EQ(log["termination"], "normal");
  EXPECT_EQ(log["client_close_code"], 4000);
  EXPECT_EQ(log["client_close_reason"], "server going away");
  EXPECT_EQ(log["client_closed_by"], "backend");
  EXPECT_EQ(log["backend_close_code"], 4000);
  EXPECT_EQ(log["backend_closed_by"], "backend");
  EXPECT_EQ(log["messages_to_client"], 1);
}

TEST_F(SessionClose, BothCloseAtOnce) {
  open();
  // Each peer sends its close before it sees the other's: each gets the other's close, and
  // neither close is answered twice.
  client().peerSends(clientClose(1000, "client done"));
  backend().peerSends(serverClose(1001, "backend done"));
  host().settle();
  EXPECT_EQ(backendSaw(), "close(1000,client done)");
  EXPECT_EQ(clientSaw(), "close(1001,backend done)");
  EXPECT_TRUE(clientRecord().closed);
  EXPECT_TRUE(backendRecord().fin_sent);
  backendEnds(UV_EOF);
  ASSERT_TRUE(ended());
  const auto log = accessLog();
  EXPECT_EQ(log["termination"], "normal");
  EXPECT_EQ(log["client_close_code"], 1000);
  EXPECT_EQ(log["client_closed_by"], "client");
  EXPECT_EQ(log["backend_close_code"], 1000);
  EXPECT_EQ(log["backend_closed_by"], "client");
}

TEST_F(SessionClose, BackendClosesItsTcpFirstAfterTheHandshake) {
  open();
  clientSends(clientClose(1000, ""));
  backendSends(serverClose(1000, ""));
  // A backend that closes its TCP at once (as servers do) ends the session without waiting.
  backendEnds(UV_EOF);
  ASSERT_TRUE(ended());
  EXPECT_EQ(accessLog()["termination"], "normal");
}

TEST_F(SessionClose, CloseTimeoutWhenTheBackendNeverAnswers) {
  open();
  clientSends(clientClose(1000, "bye"));
  EXPECT_EQ(backendSaw(), "close(1000,bye)");
  host().advance(4999);
  EXPECT_FALSE(ended()) << "the close handshake has 5 s";
  EXPECT_FALSE(clientRecord().closed);
  host().advance(1);
  ASSERT_TRUE(ended());
  // Nothing more was written: both connections were cut.
  EXPECT_EQ(clientSaw(), "");
  EXPECT_EQ(backendSaw(), "close(1000,bye)");
  const auto log = accessLog();
  EXPECT_EQ(log["termination"], "close_timeout");
  EXPECT_EQ(log["client_close_code"], 1000);
  EXPECT_EQ(log["backend_close_code"], 1000);
}

TEST_F(SessionClose, CloseTimeoutWhenTheClientNeverAnswers) {
  open();
  backendSends(serverClose(1001, "restart"));
  EXPECT_EQ(clientSaw(), "close(1001,restart)");
  host().advance(4999);
  EXPECT_FALSE(ended());
  host().advance(1);
  ASSERT_TRUE(ended());
  EXPECT_EQ(backendSaw(), "");
  EXPECT_EQ(accessLog()["termination"], "close_timeout");
}

TEST_F(SessionClose, ClientVanishesBetweenFrames) {
  open();
  clientSends(clientFrame({Opcode::Text, "before vanishing"}));
  clientEnds(UV_ECONNRESET);
  // The backend is told in a masked close; the client's TCP is gone already.
  EXPECT_EQ(backendSaw(), "text(before vanishing) close(1001,client connection lost)");
  EXPECT_TRUE(toBackend().frames[1].masked);
  EXPECT_TRUE(clientRecord().closed);
  backendSends(serverClose(1001, ""));
  backendEnds(UV_EOF);
  ASSERT_TRUE(ended());
  const auto log = accessLog();
  EXPECT_EQ(log["termination"], "client_lost");
  EXPECT_EQ(log["client_close_code"], 1006);
  EXPECT_EQ(log["backend_close_code"], 1001);
  EXPECT_EQ(log["backend_close_reason"], "client connection lost");
  EXPECT_EQ(log["backend_closed_by"], "proxy");
  EXPECT_EQ(log["messages_from_client"], 1);
}

TEST_F(SessionClose, ClientFinWithoutCloseStillGetsWhatTheBackendSends) {
  open();
  clientEnds(UV_EOF); // a half-close: the client still reads
  EXPECT_EQ(backendSaw(), "close(1001,client connection lost)");
  EXPECT_FALSE(clientRecord().closed);
  backendSends(concat({serverFrame({Opcode::Text, "last words"}), serverClose(1001, "")}));
  // The backend's close answers wsgate's and goes no further; then the client's TCP closes.
  EXPECT_EQ(clientSaw(), "text(last words)");
  EXPECT_TRUE(clientRecord().closed);
  backendEnds(UV_EOF);
  ASSERT_TRUE(ended());
  EXPECT_EQ(accessLog()["termination"], "client_lost");
}

TEST_F(SessionClose, ClientCloseThenFinStillGetsTheBackendsLastMessageAndReply) {
  open();
  client().peerSends(clientClose(1000, "bye"));
  client().peerEnds(UV_EOF);
  host().settle();
  EXPECT_EQ(backendSaw(), "close(1000,bye)");
  backendSends(concat({serverFrame({Opcode::Text, "in flight"}), serverClose(1000, "bye too")}));
  EXPECT_EQ(clientSaw(), "text(in flight) close(1000,bye too)");
  backendEnds(UV_EOF);
  ASSERT_TRUE(ended());
  const auto log = accessLog();
  EXPECT_EQ(log["termination"], "normal");
  EXPECT_EQ(log["client_close_code"], 1000);
}

TEST_F(SessionClose, BackendVanishesBetweenFrames) {
  open();
  backendSends(
      concat({serverFrame({Opcode::Text, "one"}), serverFrame({Opcode::Binary, "\x01\x02"})}));
  backendEnds(UV_EOF);
  EXPECT_EQ(clientSaw(), "text(one) binary(\x01\x02) close(1014,backend connection lost)");
  EXPECT_TRUE(backendRecord().closed);
  clientSends(clientClose(1014, ""));
  ASSERT_TRUE(ended());
  const auto log = accessLog();
  EXPECT_EQ(log["termination"], "backend_lost");
  EXPECT_EQ(log["client_close_code"], 1014);
  EXPECT_EQ(log["client_close_reason"], "backend connection lost");
  EXPECT_EQ(log["client_closed_by"], "proxy");
  EXPECT_EQ(log["backend_close_code"], 1006);
  EXPECT_EQ(log["messages_to_client"], 2);
}

TEST_F(SessionClose, BackendLostCloseCodeIsThePolicys) {
  open("backend_lost_close_code = 1011");
  backendEnds(UV_EOF);
  EXPECT_EQ(clientSaw(), "close(1011,backend connection lost)");
  clientSends(clientClose(1011, ""));
  ASSERT_TRUE(ended());
}

TEST_F(SessionClose, BackendVanishesInsideAFrame) {
  open();
  const Bytes frame = serverFrame({Opcode::Binary, std::string(1000, 'x')});
  const std::span<const uint8_t> half(frame.data(), 504);
  backendSends(half);
  EXPECT_EQ(bytesToClient(), 504u) << "the frame's first bytes are forwarded at once";
  backendEnds(UV_EOF);
  // No close frame can follow half a frame: the client's connection is cut.
  EXPECT_EQ(bytesToClient(), 504u);
  EXPECT_EQ(toClient().frames.size(), 0u);
  ASSERT_TRUE(ended());
  const auto log = accessLog();
  EXPECT_EQ(log["termination"], "backend_lost");
  // The code wsgate meant to send (and could not): the log shows it, the client saw 1006.
  EXPECT_EQ(log["client_close_code"], 1014);
  EXPECT_EQ(log["backend_close_code"], 1006);
}

TEST_F(SessionClose, ClientVanishesInsideAFrame) {
  open();
  const Bytes frame = clientFrame({Opcode::Text, std::string(1000, 'y')});
  const std::span<const uint8_t> part(frame.data(), 600);
  clientSends(part);
  EXPECT_EQ(bytesToBackend(), 600u);
  clientEnds(UV_ECONNRESET);
  EXPECT_EQ(bytesToBackend(), 600u) << "no close frame after half a frame: the backend is cut";
  ASSERT_TRUE(ended());
  const auto log = accessLog();
  EXPECT_EQ(log["termination"], "client_lost");
  EXPECT_EQ(log["client_close_code"], 1006);
  EXPECT_EQ(log["backend_close_code"], 1001);
}

TEST_F(SessionClose, FramesAfterACloseAreDropped) {
  open();
  clientSends(concat({clientClose(1000, ""), clientFrame({Opcode::Text, "after"})}));
  EXPECT_EQ(backendSaw(), "close(1000,)");
  backendSends(serverClose(1000, ""));
  EXPECT_EQ(clientSaw(), "close(1000,)");
  backendEnds(UV_EOF);
  ASSERT_TRUE(ended());
}

TEST_F(SessionClose, AbortCutsBothLegsWithoutCloseFrames) {
  open();
  host().session()->abort();
  host().settle();
  ASSERT_TRUE(ended());
  EXPECT_EQ(clientSaw(), "");
  EXPECT_EQ(backendSaw(), "");
  EXPECT_EQ(accessLog()["termination"], "shutdown");
}

} // namespace
} // namespace wsgate::proxy::test
