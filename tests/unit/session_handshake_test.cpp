// A session's handshake failures and host orders on in-memory streams: a backend that refuses
// or never answers the connect, a 101 with a wrong accept, a client over server.max_connections,
// the lingering close after an HTTP error, and a rebalancing shed.
#include "tests/unit/support/session_fixture.h"

namespace wsgate::proxy::test {
namespace {

class SessionHandshake : public SessionFixture {
protected:
  std::string_view response() { return clientRecord().deliveredText(); }
};

TEST_F(SessionHandshake, ARefusedConnectIs502AndTheAttemptIsClosed) {
  start();
  request();
  backend().completeConnect(UV_ECONNREFUSED);
  host().settle();
  EXPECT_TRUE(backendRecord().closed);
  EXPECT_TRUE(response().starts_with("HTTP/1.1 502 ")) << response();
  EXPECT_TRUE(response().ends_with(
      "no backend of pool 'p' accepted the connection (last error: connection refused)\n"))
      << response();
  host().advance(2000); // the client never sends its FIN: the lingering close ends
  ASSERT_TRUE(ended());
  const auto log = accessLog();
  EXPECT_EQ(log["status"], 502);
  EXPECT_EQ(log["termination"], "backend_unreachable");
}

TEST_F(SessionHandshake, NoConnectWithinConnectTimeoutIs504) {
  start();
  request();
  host().advance(4999);
  EXPECT_EQ(response(), "");
  host().advance(1); // pools[].connect_timeout: 5 s
  EXPECT_TRUE(backendRecord().closed);
  EXPECT_TRUE(response().starts_with("HTTP/1.1 504 ")) << response();
  EXPECT_TRUE(response().ends_with("(last error: connect timeout)\n")) << response();
  host().advance(2000);
  ASSERT_TRUE(ended());
  EXPECT_EQ(accessLog()["termination"], "backend_timeout");
}

TEST_F(SessionHandshake, AWrongAcceptIs502) {
  start();
  request();
  backend().completeConnect(0);
  host().settle();
  const std::string wrong = backend101("AAAAAAAAAAAAAAAAAAAAAA==");
  backendSends(std::string_view(wrong));
  EXPECT_TRUE(response().starts_with("HTTP/1.1 502 ")) << response();
  EXPECT_NE(response().find("the backend sent a wrong Sec-WebSocket-Accept: '"),
            std::string_view::npos)
      << response();
  host().settle();
  EXPECT_TRUE(backendRecord().closed);
  // The backend's close does not cut the client's lingering close short: the client is still
  // read (and not closed) until its FIN or the 2 s linger.
  EXPECT_FALSE(clientRecord().closed);
  EXPECT_TRUE(client().reading());
  host().advance(1999);
  EXPECT_FALSE(ended());
  host().advance(1);
  ASSERT_TRUE(ended());
  EXPECT_EQ(accessLog()["termination"], "backend_rejected");
}

TEST_F(SessionHandshake, OverCapacityIs503WithRetryAfterAndNoSlotToGiveBack) {
  start();
  host().startSession(true);
  client_ = host().streams().find("client");
  EXPECT_TRUE(response().starts_with("HTTP/1.1 503 ")) << response();
  EXPECT_NE(response().find("\r\nRetry-After: 1\r\n"), std::string_view::npos) << response();
  EXPECT_TRUE(response().ends_with("wsgate is at server.max_connections; retry later\n"));
  EXPECT_TRUE(clientRecord().fin_sent);
  clientEnds(UV_EOF);
  ASSERT_TRUE(ended());
  EXPECT_EQ(host().connectionsReleased(), 0u) << "the host did not count it";
}

TEST_F(SessionHandshake, LingeringCloseReadsWhatTheClientStillSendsThenEndsAfter2s) {
  start();
  host().startSession();
  client_ = host().streams().find("client");
  clientSends(std::string_view("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  EXPECT_TRUE(response().starts_with("HTTP/1.1 405 ")) << response();
  EXPECT_NE(response().find("\r\nAllow: GET\r\n"), std::string_view::npos);
  EXPECT_TRUE(clientRecord().fin_sent);
  // What the client still sends is read and dropped.
  clientSends(std::string_view("more bytes"));
  EXPECT_TRUE(client().reading());
  host().advance(1999);
  EXPECT_FALSE(ended());
  host().advance(1);
  ASSERT_TRUE(ended());
  EXPECT_EQ(accessLog()["status"], 405);
  EXPECT_EQ(host().connectionsReleased(), 1u);
}

TEST_F(SessionHandshake, ShedClosesTheClientWithItsCodeAndTheBackendWith1001) {
  open();
  host().session()->shed(1012);
  host().settle();
  EXPECT_EQ(clientSaw(), "close(1012,rebalancing: please reconnect)");
  EXPECT_EQ(backendSaw(), "close(1001,rebalancing)");
  clientSends(clientClose(1012, ""));
  backendSends(serverClose(1001, ""));
  backendEnds(UV_EOF);
  ASSERT_TRUE(ended());
  EXPECT_EQ(accessLog()["termination"], "rebalance");
  EXPECT_EQ(host().connectionsReleased(), 1u);
}

} // namespace
} // namespace wsgate::proxy::test
