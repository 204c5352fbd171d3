// Flow control and shutdown of a session: a peer that does not read stops wsgate reading the
// other peer above the high watermark (256 KiB queued) and reading resumes below the low one
// (64 KiB); a drain closes both legs with 1001, or answers 503 before the upgrade.
#include "tests/unit/support/session_fixture.h"

namespace wsgate::proxy::test {
namespace {

using ws::Opcode;

constexpr std::size_t kHigh = std::size_t{256} * 1024;
constexpr std::size_t kLow = std::size_t{64} * 1024;

class SessionFlow : public SessionFixture {
protected:
  void closeNormally() {
    clientSends(clientClose(1000, ""));
    backendSends(serverClose(1000, ""));
    backendEnds(UV_EOF);
  }
};

TEST_F(SessionFlow, ASlowClientStopsReadingTheBackendUntilBelowTheLowWatermark) {
  open();
  client().setPeerReading(false);
  backend().setReadChunk(40000); // each read is forwarded as one write of 40000 bytes
  Bytes flood;
  const std::string payload(49996, 'z'); // a 50000-byte frame
  for (int i = 0; i < 8; ++i) {
    const Bytes frame = serverFrame({Opcode::Binary, payload});
    flood.insert(flood.end(), frame.begin(), frame.end());
  }
  ASSERT_EQ(flood.size(), 400000u);
  backendSends(flood);
  // 6 reads queue 240000 bytes (under 256 KiB); the 7th passes it and stops the reads.
  EXPECT_FALSE(backend().reading());
  EXPECT_EQ(backendRecord().stop_reads, 1u);
  EXPECT_EQ(client().queuedBytes(), 280000u);
  EXPECT_GT(client().queuedBytes(), kHigh);
  EXPECT_EQ(backend().inboundBytes(), 120000u) << "the rest waits at the backend";
  EXPECT_EQ(host().pool().inUse(), 7u) << "each queued write holds its read block";

  // Drained to 80000 bytes: above the low watermark, still stopped.
  client().peerReads(200000);
  host().settle();
  EXPECT_EQ(client().queuedBytes(), 80000u);
  EXPECT_FALSE(backend().reading());
  // Drained to 40000: below 64 KiB, reading resumes and the rest arrives.
  client().peerReads(40000);
  EXPECT_LT(client().queuedBytes(), kLow);
  EXPECT_TRUE(backend().reading());
  host().settle();
  EXPECT_EQ(backend().inboundBytes(), 0u);
  EXPECT_EQ(client().queuedBytes(), 160000u);
  EXPECT_TRUE(backend().reading()) << "160000 bytes queued: under the high watermark";

  client().setPeerReading(true);
  client().peerReads();
  EXPECT_EQ(bytesToClient(), 400000u);
  const Decoded got = toClient();
  ASSERT_EQ(got.frames.size(), 8u);
  EXPECT_EQ(got.trailing, 0u);
  for (const Frame& f : got.frames)
    EXPECT_EQ(f.payload, payload);
  closeNormally();
  ASSERT_TRUE(ended());
  EXPECT_EQ(accessLog()["bytes_to_client"], response_bytes_ + 400000u + 4u); // and the 4-byte close
}

TEST_F(SessionFlow, ASlowBackendStopsReadingTheClient) {
  open();
  backend().setPeerReading(false);
  const Bytes frame = clientFrame({Opcode::Binary, std::string(300000, 'q')});
  clientSends(frame);
  EXPECT_EQ(backend().queuedBytes(), frame.size());
  EXPECT_FALSE(client().reading());
  EXPECT_EQ(clientRecord().stop_reads, 1u);
  // A message sent meanwhile waits at the client.
  const Bytes next = clientFrame({Opcode::Text, "next"});
  clientSends(next);
  EXPECT_EQ(client().inboundBytes(), next.size());
  backend().setPeerReading(true);
  backend().peerReads();
  host().settle();
  EXPECT_TRUE(client().reading());
  EXPECT_EQ(backendSaw(), "binary[300000] text(next)");
  EXPECT_EQ(bytesToBackend(), frame.size() + next.size());
  closeNormally();
  ASSERT_TRUE(ended());
}

TEST_F(SessionFlow, DrainSends1001ToBothLegs) {
  open();
  host().session()->drain();
  host().settle();
  EXPECT_EQ(clientSaw(), "close(1001,server shutting down)");
  EXPECT_EQ(backendSaw(), "close(1001,proxy shutting down)");
  EXPECT_TRUE(toBackend().frames[0].masked);
  EXPECT_FALSE(toClient().frames[0].masked);
  clientSends(clientClose(1001, ""));
  EXPECT_TRUE(clientRecord().closed);
  backendSends(serverClose(1001, ""));
  EXPECT_TRUE(backendRecord().fin_sent);
  backendEnds(UV_EOF);
  ASSERT_TRUE(ended());
  const auto log = accessLog();
  EXPECT_EQ(log["termination"], "drain");
  EXPECT_EQ(log["client_close_code"], 1001);
  EXPECT_EQ(log["client_close_reason"], "server shutting down");
  EXPECT_EQ(log["client_closed_by"], "proxy");
  EXPECT_EQ(log["backend_close_code"], 1001);
  EXPECT_EQ(log["backend_close_reason"], "proxy shutting down");
  EXPECT_EQ(log["backend_closed_by"], "proxy");
}

TEST_F(SessionFlow, DrainWithPeersThatNeverAnswerEndsAtTheCloseTimeout) {
  open();
  host().session()->drain();
  host().settle();
  host().advance(4999);
  EXPECT_FALSE(ended());
  host().advance(1);
  ASSERT_TRUE(ended());
  EXPECT_EQ(accessLog()["termination"], "drain");
}

TEST_F(SessionFlow, DrainWaitsForAFrameInFlightBeforeTheClose) {
  open();
  const Bytes frame = serverFrame({Opcode::Text, std::string(1000, 'm')});
  backendSends(std::span<const uint8_t>(frame.data(), 300));
  host().session()->drain();
  host().settle();
  EXPECT_EQ(bytesToClient(), 300u) << "the close waits for the end of the frame";
  backendSends(std::span<const uint8_t>(frame.data() + 300, frame.size() - 300));
  EXPECT_EQ(clientSaw(), "text[1000] close(1001,server shutting down)");
  clientSends(clientClose(1001, ""));
  backendSends(serverClose(1001, ""));
  backendEnds(UV_EOF);
  ASSERT_TRUE(ended());
}

TEST_F(SessionFlow, DrainDuringTheRequestAnswers503) {
  start();
  host().startSession();
  client_ = host().streams().find("client");
  clientSends(std::string_view("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"));
  host().session()->drain();
  host().settle();
  const std::string_view response = clientRecord().deliveredText();
  EXPECT_TRUE(response.starts_with("HTTP/1.1 503 ")) << response;
  EXPECT_NE(response.find("\r\nRetry-After: 1\r\n"), std::string_view::npos) << response;
  EXPECT_TRUE(response.ends_with("\r\n\r\nwsgate is shutting down\n")) << response;
  EXPECT_TRUE(clientRecord().fin_sent);
  clientEnds(UV_EOF);
  ASSERT_TRUE(ended());
  EXPECT_EQ(accessLog()["status"], 503);
  EXPECT_EQ(accessLog()["termination"], "drain");
}

TEST_F(SessionFlow, DrainWhileConnectingClosesTheBackendAttempt) {
  start();
  request();
  ASSERT_TRUE(backend().connecting());
  host().session()->drain();
  host().settle();
  EXPECT_TRUE(backendRecord().closed);
  EXPECT_TRUE(clientRecord().deliveredText().starts_with("HTTP/1.1 503 "));
  // The client does not answer: the lingering close ends after 2 s.
  host().advance(2000);
  ASSERT_TRUE(ended());
}

} // namespace
} // namespace wsgate::proxy::test
