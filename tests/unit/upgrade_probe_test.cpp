// The health probe's request and the verdict on the answer (common/ws/upgrade_probe.h).
#include "common/http/parser.h"
#include "common/ws/frame_parser.h"
#include "common/ws/handshake.h"
#include "common/ws/upgrade_probe.h"

#include <gtest/gtest.h>

namespace wsgate::ws {
namespace {

http::Response parse(const std::string& text) {
  http::ResponseParser parser;
  const auto bytes = std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  EXPECT_EQ(parser.feed(bytes).status, http::ParseStatus::Done) << text;
  return parser.response();
}

std::string ok101(std::string_view accept) {
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: " +
         std::string(accept) + "\r\n\r\n";
}

TEST(UpgradeProbe, Request) {
  const std::string key = generateKey();
  const std::string request = buildProbeRequest("/health?x=1", "chat.example:9001", key);
  http::RequestParser parser;
  const auto bytes = std::span(reinterpret_cast<const uint8_t*>(request.data()), request.size());
  ASSERT_EQ(parser.feed(bytes).status, http::ParseStatus::Done);
  const http::Request& parsed = parser.request();
  EXPECT_EQ(parsed.method, "GET");
  EXPECT_EQ(parsed.target, "/health?x=1");
  EXPECT_EQ(parsed.version_minor, 1);
  EXPECT_EQ(parsed.headers.get("host"), "chat.example:9001");
  EXPECT_EQ(parsed.headers.get("sec-websocket-key"), key);
  EXPECT_EQ(parsed.headers.get("sec-websocket-version"), "13");
  EXPECT_TRUE(parsed.headers.hasToken("upgrade", "websocket"));
  EXPECT_TRUE(parsed.headers.hasToken("connection", "upgrade"));
  EXPECT_TRUE(isValidKey(key));
  EXPECT_NE(generateKey(), key);
}

TEST(UpgradeProbe, Verdicts) {
  const std::string key = generateKey();
  EXPECT_TRUE(judgeProbeResponse(parse(ok101(computeAccept(key))), key).healthy);
  const ProbeVerdict error = judgeProbeResponse(
      parse("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"), key);
  EXPECT_FALSE(error.healthy);
  EXPECT_EQ(error.reason, "answered 500 Internal Server Error instead of 101");
  const ProbeVerdict wrong = judgeProbeResponse(parse(ok101(computeAccept(generateKey()))), key);
  EXPECT_FALSE(wrong.healthy);
  EXPECT_EQ(wrong.reason, "wrong Sec-WebSocket-Accept");
  const ProbeVerdict bare = judgeProbeResponse(
      parse("HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: " + computeAccept(key) +
            "\r\n\r\n"),
      key);
  EXPECT_FALSE(bare.healthy);
  EXPECT_EQ(bare.reason, "the 101 lacks 'Upgrade: websocket' or 'Connection: Upgrade'");
  const std::string twice = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                            "Connection: Upgrade\r\nSec-WebSocket-Accept: " +
                            computeAccept(key) + "\r\nSec-WebSocket-Accept: " + computeAccept(key) +
                            "\r\n\r\n";
  EXPECT_FALSE(judgeProbeResponse(parse(twice), key).healthy);
}

TEST(UpgradeProbe, CloseFrameIsMaskedNormalClosure) {
  const std::string frame = probeCloseFrame();
  ASSERT_EQ(frame.size(), 8U); // 2 header + 4 mask + 2 code
  EXPECT_EQ(static_cast<uint8_t>(frame[0]), 0x88);
  EXPECT_EQ(static_cast<uint8_t>(frame[1]), 0x82); // masked, 2 bytes
  const uint8_t code_hi = static_cast<uint8_t>(frame[6]) ^ static_cast<uint8_t>(frame[2]);
  const uint8_t code_lo = static_cast<uint8_t>(frame[7]) ^ static_cast<uint8_t>(frame[3]);
  EXPECT_EQ((code_hi << 8) | code_lo, 1000);
}

} // namespace
} // namespace wsgate::ws
