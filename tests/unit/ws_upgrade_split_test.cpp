// The head parsers and the upgrade checks together (common/http/parser.h, common/ws/upgrade.h):
// each valid and invalid request and response, fed whole, byte by byte and in two chunks split
// at every offset, ends in the same outcome (refusal, facts, forwarded request, client 101).
#include "common/http/parser.h"
#include "common/ws/upgrade.h"

#include <gtest/gtest.h>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wsgate::ws {
namespace {

constexpr std::string_view kKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::string_view kAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

std::span<const uint8_t> bytesOf(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// Everything the parser and the checks decide about one input.
struct Outcome {
  http::ParseStatus parse = http::ParseStatus::NeedMore;
  std::size_t head = 0; // bytes of the head consumed
  int status = 0;       // the parser's or the check's refusal status; 0 when accepted
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers; // the refusal's headers
  std::vector<std::string> facts; // what was accepted, one field per entry
  std::string built;              // the forwarded request or the client's 101

  bool operator==(const Outcome&) const = default;
};

// Feeds `input` to `parser` in chunks ending at `cuts` (ascending), then at the input's end.
template <typename Parser>
Outcome feedSplit(Parser& parser, std::string_view input, const std::vector<std::size_t>& cuts) {
  Outcome out;
  std::size_t offset = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(input.size());
  for (const std::size_t end : ends) {
    const http::ParseResult r = parser.feed(bytesOf(input.substr(offset, end - offset)));
    out.parse = r.status;
    if (r.status == http::ParseStatus::NeedMore) {
      offset = end;
      continue;
    }
    offset += r.consumed;
    break;
  }
  out.head = offset;
  if (out.parse == http::ParseStatus::Error) {
    out.status = parser.error().http_status;
    out.reason = parser.error().reason;
  }
  return out;
}

void refuse(Outcome& out, const UpgradeRefusal& refusal) {
  out.status = refusal.status;
  out.reason = refusal.reason;
  for (const http::Header& h : refusal.headers)
    out.headers.emplace_back(h.name, h.value);
}

Outcome runRequest(std::string_view input, const std::vector<std::size_t>& cuts) {
  http::RequestParser parser;
  Outcome out = feedSplit(parser, input, cuts);
  if (out.parse != http::ParseStatus::Done) return out;
  const RequestCheck checked = checkUpgradeRequest(parser.request());
  if (!checked.ok()) {
    refuse(out, checked.refusal);
    return out;
  }
  const UpgradeRequest& up = checked.upgrade;
  out.facts = {up.key, up.host, up.target, up.path, up.deflate_offer};
  out.facts.insert(out.facts.end(), up.protocols.begin(), up.protocols.end());
  out.facts.push_back(std::to_string(up.deflate_offers.size()));
  const BackendRequest built =
      buildBackendRequest(parser.request(), up,
                          {.target = up.target, .client_ip = "10.0.0.1", .forward_deflate = true});
  out.built = built.head;
  return out;
}

UpgradeOffer offer() {
  UpgradeOffer offer{std::string(kKey), {"chat", "v2"}, {}};
  keepDeflateOffers("permessage-deflate; client_max_window_bits", offer.deflate_offers);
  return offer;
}

Outcome runResponse(std::string_view input, const std::vector<std::size_t>& cuts) {
  http::ResponseParser parser;
  Outcome out = feedSplit(parser, input, cuts);
  if (out.parse != http::ParseStatus::Done) return out;
  const ResponseCheck checked = checkUpgradeResponse(parser.response(), offer());
  if (!checked.ok()) {
    refuse(out, checked.refusal);
    out.facts.push_back(std::to_string(static_cast<int>(checked.error)));
    return out;
  }
  const UpgradeAccepted& accepted = checked.accepted;
  out.facts = {accepted.accept, accepted.protocol.value_or("-"),
               accepted.deflate ? std::to_string(accepted.deflate->client.window_bits) : "-"};
  out.built = buildClientResponse(parser.response(), accepted);
  return out;
}

// Whole, byte by byte, and split once at every offset: one outcome. Returns it.
template <typename Run> Outcome expectSplitInvariant(std::string_view input, Run run) {
  Outcome whole = run(input, {});
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < input.size(); ++i)
    every.push_back(i);
  EXPECT_EQ(run(input, every), whole) << "byte by byte: " << input;
  for (std::size_t i = 0; i <= input.size(); ++i) {
    EXPECT_EQ(run(input, {i}), whole) << "split at " << i << ": " << input;
  }
  return whole;
}

std::string request(std::string_view extra, std::string_view start = "GET /chat?a=1 HTTP/1.1") {
  return std::string(start) +
         "\r\nHost: chat.example\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
         "Sec-WebSocket-Key: " +
         std::string(kKey) + "\r\nSec-WebSocket-Version: 13\r\n" + std::string(extra) + "\r\n";
}

std::string response(std::string_view extra, std::string_view accept = kAccept,
                     std::string_view start = "HTTP/1.1 101 Switching Protocols") {
  return std::string(start) +
         "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
         std::string(accept) + "\r\n" + std::string(extra) + "\r\n";
}

TEST(UpgradeSplits, ValidRequests) {
  const std::string frames = "\x81\x85\x01\x02\x03\x04hello"; // pipelined: not part of the head
  for (const std::string& input :
       {request(""),
        request("Sec-WebSocket-Protocol: chat, v2\r\nSec-WebSocket-Extensions: "
                "permessage-deflate; client_max_window_bits, x-foo\r\nX-Forwarded-For: 1.2.3.4\r\n"
                "Keep-Alive: 5\r\n"),
        request("", "GET ws://other.example:81/a/./b//c HTTP/1.1"), request("") + frames}) {
    const Outcome outcome = expectSplitInvariant(input, runRequest);
    EXPECT_EQ(outcome.status, 0) << outcome.reason;
    EXPECT_FALSE(outcome.built.empty());
  }
}

TEST(UpgradeSplits, InvalidRequests) {
  const std::vector<std::pair<std::string, int>> cases = {
      {request("", "POST /chat HTTP/1.1"), 405},
      {request("", "GET /chat HTTP/1.0"), 400},
      {request("Host: b\r\n"), 400},
      {request("Content-Length: 3\r\n"), 400},
      {request("Sec-WebSocket-Key: " + std::string(kKey) + "\r\n"), 400},
      {request("", "GET /../x HTTP/1.1"), 400},
      {"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", 426},
      {"GET /chat HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n", 400},
      {"GET /chat HTTP/1.1\r\nHost : a\r\n\r\n", 400}, // the parser refuses it
  };
  for (const auto& [input, status] : cases) {
    const Outcome outcome = expectSplitInvariant(input, runRequest);
    EXPECT_EQ(outcome.status, status) << input;
    EXPECT_FALSE(outcome.reason.empty());
    EXPECT_TRUE(outcome.built.empty());
  }
}

TEST(UpgradeSplits, ValidResponses) {
  for (const std::string& input :
       {response(""),
        response("Sec-WebSocket-Protocol: v2\r\nSec-WebSocket-Extensions: permessage-deflate; "
                 "client_max_window_bits=12\r\nContent-Length: 0\r\nServer: x\r\n"),
        response("") + "\x81\x02hi"}) {
    const Outcome outcome = expectSplitInvariant(input, runResponse);
    EXPECT_EQ(outcome.status, 0) << outcome.reason;
    EXPECT_TRUE(outcome.built.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
  }
}

TEST(UpgradeSplits, InvalidResponses) {
  for (const std::string& input : {
           response("", kAccept, "HTTP/1.1 200 OK"),
           response("", kAccept, "HTTP/1.0 101 Switching Protocols"),
           "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: " + std::string(kAccept) +
               "\r\n\r\n",
           response("Sec-WebSocket-Accept: x\r\n"),
           response("", "AAAA"),
           response("Sec-WebSocket-Extensions: x-foo\r\n"),
           response("Sec-WebSocket-Protocol: superchat\r\n"),
           std::string("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nX\r\n\r\n"),
       }) {
    const Outcome outcome = expectSplitInvariant(input, runResponse);
    EXPECT_EQ(outcome.status, 502) << input;
    EXPECT_TRUE(outcome.built.empty());
  }
}

} // namespace
} // namespace wsgate::ws
