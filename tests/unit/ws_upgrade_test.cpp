// The upgrade without I/O (common/ws/upgrade.h): each rule of the client's request, the
// request the backend gets, each rule of the backend's 101 and the 101 the client gets.
// The same outcome whatever the split is checked in ws_upgrade_split_test.cpp.
#include "common/http/target.h"
#include "common/ws/handshake.h"
#include "common/ws/upgrade.h"

#include <gtest/gtest.h>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wsgate::ws {
namespace {

// RFC 6455 section 1.3's example key and its accept value.
constexpr std::string_view kKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::string_view kAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

http::Request parseRequest(std::string_view text) {
  http::RequestParser parser;
  const auto bytes = std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  EXPECT_EQ(parser.feed(bytes).status, http::ParseStatus::Done) << text;
  return parser.request();
}

http::Response parseResponse(std::string_view text) {
  http::ResponseParser parser;
  const auto bytes = std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  EXPECT_EQ(parser.feed(bytes).status, http::ParseStatus::Done) << text;
  return parser.response();
}

// A valid upgrade request for `target` with `extra` header lines ("Name: value\r\n" each).
std::string upgradeRequest(std::string_view extra = "", std::string_view target = "/chat") {
  return "GET " + std::string(target) +
         " HTTP/1.1\r\nHost: chat.example:8080\r\nUpgrade: websocket\r\n"
         "Connection: Upgrade\r\nSec-WebSocket-Key: " +
         std::string(kKey) + "\r\nSec-WebSocket-Version: 13\r\n" + std::string(extra) + "\r\n";
}

// A request head from its lines, each ending with CRLF, and the empty line.
std::string head(std::initializer_list<std::string_view> lines) {
  std::string out;
  for (const std::string_view line : lines)
    out.append(line).append("\r\n");
  return out + "\r\n";
}

RequestCheck check(std::string_view text) {
  return checkUpgradeRequest(parseRequest(text));
}

void expectRefused(std::string_view text, int status, std::string_view reason,
                   std::vector<http::Header> headers = {}) {
  const RequestCheck checked = check(text);
  ASSERT_FALSE(checked.ok()) << text;
  EXPECT_EQ(checked.refusal.status, status) << text;
  EXPECT_EQ(checked.refusal.reason, reason) << text;
  ASSERT_EQ(checked.refusal.headers.size(), headers.size()) << text;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    EXPECT_EQ(checked.refusal.headers[i].name, headers[i].name);
    EXPECT_EQ(checked.refusal.headers[i].value, headers[i].value);
  }
}

constexpr std::string_view kBadKey =
    "missing or invalid Sec-WebSocket-Key: it must be the base64 of 16 bytes";
constexpr std::string_view kBadVersion =
    "unsupported Sec-WebSocket-Version: this server speaks version 13";

TEST(UpgradeRequestCheck, ValidRequestGivesItsFacts) {
  const RequestCheck checked =
      check(upgradeRequest("Sec-WebSocket-Protocol: chat, , superchat\r\n"
                           "Sec-WebSocket-Protocol: v2\r\n"
                           "Sec-WebSocket-Extensions: x-webkit-deflate-frame, "
                           "permessage-deflate; client_max_window_bits\r\n",
                           "/a//b/./c?room=1&x"));
  ASSERT_TRUE(checked.ok()) << checked.refusal.reason;
  EXPECT_EQ(checked.refusal.status, 0);
  const UpgradeRequest& up = checked.upgrade;
  EXPECT_EQ(up.key, kKey);
  EXPECT_EQ(up.host, "chat.example:8080");
  EXPECT_EQ(up.target, "/a/b/c?room=1&x");
  EXPECT_EQ(up.path, "/a/b/c");
  EXPECT_EQ(up.protocols, (std::vector<std::string>{"chat", "superchat", "v2"}));
  EXPECT_EQ(up.deflate_offer, "permessage-deflate; client_max_window_bits");
  ASSERT_EQ(up.deflate_offers.size(), 1U);
  EXPECT_EQ(up.deflate_offers[0].client_max_window_bits, std::optional<uint8_t>(0));
}

TEST(UpgradeRequestCheck, NoProtocolsAndNoExtensionsLeaveThemEmpty) {
  const RequestCheck checked = check(upgradeRequest("Sec-WebSocket-Extensions: foo\r\n"));
  ASSERT_TRUE(checked.ok());
  EXPECT_TRUE(checked.upgrade.protocols.empty());
  EXPECT_EQ(checked.upgrade.deflate_offer, "");
  EXPECT_TRUE(checked.upgrade.deflate_offers.empty());
}

TEST(UpgradeRequestCheck, MethodMustBeGet) {
  std::string post = upgradeRequest();
  post.replace(0, 3, "POST");
  expectRefused(post, 405, "a WebSocket upgrade must use GET", {{"Allow", "GET"}});
  std::string head_method = upgradeRequest();
  head_method.replace(0, 3, "HEAD");
  expectRefused(head_method, 405, "a WebSocket upgrade must use GET", {{"Allow", "GET"}});
}

TEST(UpgradeRequestCheck, NeedsHttp11) {
  std::string old = upgradeRequest();
  old.replace(old.find("HTTP/1.1"), 8, "HTTP/1.0");
  expectRefused(old, 400, "a WebSocket upgrade needs HTTP/1.1");
}

TEST(UpgradeRequestCheck, ExactlyOneNonEmptyHost) {
  expectRefused(upgradeRequest("Host: other.example\r\n"), 400,
                "more than one Host header: a request carries exactly one (RFC 9112 section 3.2)");
  expectRefused(head({"GET / HTTP/1.1", "Upgrade: websocket", "Connection: Upgrade"}), 400,
                "missing Host header");
  expectRefused(head({"GET / HTTP/1.1", "Host:", "Upgrade: websocket", "Connection: Upgrade"}), 400,
                "missing Host header");
}

TEST(UpgradeRequestCheck, UpgradeMustListWebsocket) {
  constexpr std::string_view kWhy =
      "missing or wrong Upgrade header: expected 'Upgrade: websocket'";
  expectRefused(head({"GET / HTTP/1.1", "Host: a", "Connection: Upgrade"}), 400, kWhy);
  expectRefused(head({"GET / HTTP/1.1", "Host: a", "Upgrade: h2c", "Connection: Upgrade"}), 400,
                kWhy);
  // A list, case-insensitive, over several fields.
  std::string listed = upgradeRequest();
  listed.replace(listed.find("Upgrade: websocket"), 18, "Upgrade: h2c\r\nUpgrade: foo, WebSocket");
  EXPECT_TRUE(check(listed).ok());
}

TEST(UpgradeRequestCheck, ConnectionMustListUpgrade) {
  constexpr std::string_view kWhy = "the Connection header must contain 'Upgrade'";
  std::string keep_alive = upgradeRequest();
  keep_alive.replace(keep_alive.find("Connection: Upgrade"), 19, "Connection: keep-alive");
  expectRefused(keep_alive, 400, kWhy);
  std::string none = upgradeRequest();
  none.erase(none.find("Connection: Upgrade\r\n"), 21);
  expectRefused(none, 400, kWhy);
  std::string listed = upgradeRequest();
  listed.replace(listed.find("Connection: Upgrade"), 19,
                 "Connection: keep-alive\r\nConnection: x, upgrade");
  EXPECT_TRUE(check(listed).ok());
}

TEST(UpgradeRequestCheck, HasNoBody) {
  constexpr std::string_view kWhy = "a WebSocket upgrade request has no body";
  expectRefused(upgradeRequest("Content-Length: 5\r\n"), 400, kWhy);
  expectRefused(upgradeRequest("Transfer-Encoding: chunked\r\n"), 400, kWhy);
  EXPECT_TRUE(check(upgradeRequest("Content-Length: 0\r\n")).ok());
}

TEST(UpgradeRequestCheck, VersionMustBe13) {
  const std::vector<http::Header> kVersion{{"Sec-WebSocket-Version", "13"}};
  std::string eight = upgradeRequest();
  eight.replace(eight.find("Version: 13"), 11, "Version: 8");
  expectRefused(eight, 426, kBadVersion, kVersion);
  std::string none = upgradeRequest();
  none.erase(none.find("Sec-WebSocket-Version: 13\r\n"), 27);
  expectRefused(none, 426, kBadVersion, kVersion);
}

TEST(UpgradeRequestCheck, KeyMustBeOneBase64Of16Bytes) {
  std::string none = upgradeRequest();
  none.erase(none.find("Sec-WebSocket-Key"), 45);
  expectRefused(none, 400, kBadKey);
  std::string short_key = upgradeRequest();
  short_key.replace(short_key.find(kKey), kKey.size(), "c2hvcnQ=");
  expectRefused(short_key, 400, kBadKey);
  std::string padding_bits = upgradeRequest(); // the 22nd character carries only 2 bits
  padding_bits.replace(padding_bits.find(kKey) + 21, 1, "B");
  expectRefused(padding_bits, 400, kBadKey);
  expectRefused(upgradeRequest("Sec-WebSocket-Key: " + std::string(kKey) + "\r\n"), 400, kBadKey);
}

TEST(UpgradeRequestCheck, TargetIsNormalisedOrRefused) {
  expectRefused(upgradeRequest("", "/a/../../etc"), 400,
                http::reasonFor(http::TargetError::AboveRoot));
  expectRefused(upgradeRequest("", "/a%2Fb"), 400,
                http::reasonFor(http::TargetError::EncodedSlash));
  const RequestCheck checked = check(upgradeRequest("", "/%7euser/./x/..?q=%2F"));
  ASSERT_TRUE(checked.ok());
  EXPECT_EQ(checked.upgrade.path, "/~user/");
  EXPECT_EQ(checked.upgrade.target, "/~user/?q=%2F");
}

TEST(UpgradeRequestCheck, AbsoluteFormAuthorityWinsOverHost) {
  const RequestCheck checked = check(upgradeRequest("", "wss://Room.Example:9443/live?x=1"));
  ASSERT_TRUE(checked.ok());
  EXPECT_EQ(checked.upgrade.host, "Room.Example:9443");
  EXPECT_EQ(checked.upgrade.target, "/live?x=1");
  EXPECT_EQ(checked.upgrade.path, "/live");
  expectRefused(upgradeRequest("", "ws://user@host/x"), 400,
                http::reasonFor(http::TargetError::UserInfo));
}

TEST(UpgradeRequestCheck, TheFirstBrokenRuleAnswers) {
  // Wrong method, version, Host and key at once: the method answers.
  expectRefused(head({"POST / HTTP/1.0"}), 405, "a WebSocket upgrade must use GET",
                {{"Allow", "GET"}});
  // A wrong version and a wrong key: the version answers.
  expectRefused(head({"GET / HTTP/1.1", "Host: a", "Upgrade: websocket", "Connection: upgrade",
                      "Sec-WebSocket-Version: 8", "Sec-WebSocket-Key: x"}),
                426, kBadVersion, {{"Sec-WebSocket-Version", "13"}});
  // A wrong key and a wrong target: the key answers.
  std::string both = upgradeRequest("", "/../x");
  both.replace(both.find(kKey), kKey.size(), "x");
  expectRefused(both, 400, kBadKey);
}

// The client's request as it is forwarded by default (no admission changes, ws://).
std::string forward(std::string_view text, ForwardOptions options = {}) {
  const http::Request request = parseRequest(text);
  const RequestCheck checked = checkUpgradeRequest(request);
  EXPECT_TRUE(checked.ok()) << checked.refusal.reason;
  if (options.target.empty()) options.target = checked.upgrade.target;
  if (options.client_ip.empty()) options.client_ip = "192.0.2.7";
  return buildBackendRequest(request, checked.upgrade, options).head;
}

TEST(BackendRequest, StripsHopByHopAndAddsForwardedHeaders) {
  const std::string text = head({"GET /chat?room=1 HTTP/1.1",
                                 "Host: chat.example:8080",
                                 "Connection: Upgrade, keep-alive, X-Trace",
                                 "Keep-Alive: timeout=5",
                                 "TE: trailers",
                                 "Trailer: x",
                                 "Proxy-Connection: x",
                                 "Proxy-Authorization: Basic eA==",
                                 "Proxy-Authenticate: x",
                                 "Upgrade: websocket",
                                 "X-Trace: 1",
                                 "Sec-WebSocket-Key: " + std::string(kKey),
                                 "Sec-WebSocket-Version: 13",
                                 "X-Forwarded-For: 203.0.113.1",
                                 "Origin: https://chat.example",
                                 "X-Forwarded-Proto: https",
                                 "x-forwarded-for: 203.0.113.2",
                                 "X-Forwarded-Host: evil.example",
                                 "Sec-WebSocket-Protocol: chat",
                                 "Sec-WebSocket-Extensions: permessage-deflate, x-foo",
                                 "Cookie: a=b"});
  EXPECT_EQ(forward(text, {.forward_deflate = true}),
            head({"GET /chat?room=1 HTTP/1.1", "Host: chat.example:8080",
                  "Sec-WebSocket-Key: " + std::string(kKey), "Sec-WebSocket-Version: 13",
                  "Origin: https://chat.example", "Sec-WebSocket-Protocol: chat", "Cookie: a=b",
                  "Upgrade: websocket", "Connection: Upgrade",
                  "Sec-WebSocket-Extensions: permessage-deflate",
                  "X-Forwarded-For: 203.0.113.1, 203.0.113.2, 192.0.2.7", "X-Forwarded-Proto: ws",
                  "X-Forwarded-Host: chat.example:8080"}));
}

TEST(BackendRequest, TlsClientsAreWss) {
  const std::string out = forward(upgradeRequest(), {.tls = true});
  EXPECT_NE(out.find("\r\nX-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: wss\r\n"),
            std::string::npos)
      << out;
}

TEST(BackendRequest, AbsoluteFormSendsItsAuthorityAsHost) {
  const std::string out = forward(upgradeRequest("", "ws://room.example:9000/x"));
  EXPECT_TRUE(out.starts_with("GET /x HTTP/1.1\r\nHost: room.example:9000\r\n")) << out;
  EXPECT_TRUE(out.ends_with("X-Forwarded-Host: room.example:9000\r\n\r\n")) << out;
}

TEST(BackendRequest, AdmissionDropsAddsAndRewrites) {
  const std::string text = upgradeRequest("X-User: forged\r\nSec-WebSocket-Protocol: chat, "
                                          "bearer.abc\r\nx-user: forged too\r\n",
                                          "/chat?token=abc&room=1");
  const http::Header claims[] = {{"X-User", "alice"}, {"X-Role", "admin"}};
  const std::string drop[] = {"X-USER"};
  const std::vector<std::string> protocols{"chat"};
  const http::Request request = parseRequest(text);
  const RequestCheck checked = checkUpgradeRequest(request);
  ASSERT_TRUE(checked.ok());
  const BackendRequest built = buildBackendRequest(request, checked.upgrade,
                                                   {.target = "/chat?room=1",
                                                    .client_ip = "::1",
                                                    .add_headers = claims,
                                                    .drop_headers = drop,
                                                    .protocols = &protocols});
  EXPECT_EQ(built.head,
            head({"GET /chat?room=1 HTTP/1.1", "Host: chat.example:8080",
                  "Sec-WebSocket-Key: " + std::string(kKey), "Sec-WebSocket-Version: 13",
                  "Sec-WebSocket-Protocol: chat", "X-User: alice", "X-Role: admin",
                  "Upgrade: websocket", "Connection: Upgrade", "X-Forwarded-For: ::1",
                  "X-Forwarded-Proto: ws", "X-Forwarded-Host: chat.example:8080"}));
  EXPECT_EQ(built.offer.key, kKey);
  EXPECT_EQ(built.offer.protocols, protocols);
  // A rewritten list left empty sends no field and offers nothing.
  const std::vector<std::string> none;
  const BackendRequest empty =
      buildBackendRequest(request, checked.upgrade, {.target = "/", .protocols = &none});
  EXPECT_EQ(empty.head.find("Sec-WebSocket-Protocol"), std::string::npos) << empty.head;
  EXPECT_TRUE(empty.offer.protocols.empty());
}

TEST(BackendRequest, OffersTheClientsProtocolsUnlessRewritten) {
  const std::string text = upgradeRequest("Sec-WebSocket-Protocol: chat\r\n"
                                          "Sec-WebSocket-Protocol: v2, bearer.x\r\n");
  const http::Request request = parseRequest(text);
  const RequestCheck checked = checkUpgradeRequest(request);
  ASSERT_TRUE(checked.ok());
  const BackendRequest built = buildBackendRequest(request, checked.upgrade, {.target = "/"});
  EXPECT_EQ(built.offer.protocols, (std::vector<std::string>{"chat", "v2", "bearer.x"}));
  EXPECT_NE(built.head.find("Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: v2, "
                            "bearer.x\r\n"),
            std::string::npos);
}

TEST(BackendRequest, DeflateOffersPassOnlyWhenInspected) {
  const std::string text = upgradeRequest(
      "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10, x-foo\r\n"
      "Sec-WebSocket-Extensions: permessage-deflate; bad_param\r\n");
  const http::Request request = parseRequest(text);
  const RequestCheck checked = checkUpgradeRequest(request);
  ASSERT_TRUE(checked.ok());
  const BackendRequest inspected =
      buildBackendRequest(request, checked.upgrade, {.target = "/", .forward_deflate = true});
  // The malformed offer passes (the backend judges it) but is not one the answer may match.
  EXPECT_NE(inspected.head.find("\r\nSec-WebSocket-Extensions: permessage-deflate; "
                                "server_max_window_bits=10, permessage-deflate; bad_param\r\n"),
            std::string::npos)
      << inspected.head;
  ASSERT_EQ(inspected.offer.deflate_offers.size(), 1U);
  EXPECT_EQ(inspected.offer.deflate_offers[0].server_max_window_bits, std::optional<uint8_t>(10));
  const BackendRequest plain = buildBackendRequest(request, checked.upgrade, {.target = "/"});
  EXPECT_EQ(plain.head.find("Sec-WebSocket-Extensions"), std::string::npos) << plain.head;
  EXPECT_TRUE(plain.offer.deflate_offers.empty());
  // Only other extensions: nothing to forward.
  EXPECT_EQ(
      forward(upgradeRequest("Sec-WebSocket-Extensions: x-foo\r\n"), {.forward_deflate = true})
          .find("Sec-WebSocket-Extensions"),
      std::string::npos);
}

std::string response101(std::string_view extra = "", std::string_view accept = kAccept) {
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: " +
         std::string(accept) + "\r\n" + std::string(extra) + "\r\n";
}

UpgradeOffer offerOf(std::vector<std::string> protocols = {}, std::string_view deflate = "") {
  UpgradeOffer offer{std::string(kKey), std::move(protocols), {}};
  keepDeflateOffers(deflate, offer.deflate_offers);
  return offer;
}

void expectBadGateway(std::string_view text, const UpgradeOffer& offer, ResponseError error,
                      std::string_view reason) {
  const ResponseCheck checked = checkUpgradeResponse(parseResponse(text), offer);
  EXPECT_EQ(checked.error, error) << text;
  EXPECT_FALSE(checked.ok());
  EXPECT_EQ(checked.refusal.status, 502) << text;
  EXPECT_EQ(checked.refusal.reason, reason) << text;
  EXPECT_TRUE(checked.refusal.headers.empty());
}

TEST(UpgradeResponseCheck, ValidSwitchGivesWhatWasNegotiated) {
  const ResponseCheck plain = checkUpgradeResponse(parseResponse(response101()), offerOf());
  ASSERT_TRUE(plain.ok()) << plain.refusal.reason;
  EXPECT_EQ(plain.refusal.status, 0);
  EXPECT_EQ(plain.accepted.accept, kAccept);
  EXPECT_FALSE(plain.accepted.protocol);
  EXPECT_FALSE(plain.accepted.deflate);
  const ResponseCheck chosen = checkUpgradeResponse(
      parseResponse(response101("Sec-WebSocket-Protocol: v2\r\n"
                                "Sec-WebSocket-Extensions: permessage-deflate; "
                                "server_no_context_takeover; client_max_window_bits=10\r\n")),
      offerOf({"chat", "v2"}, "permessage-deflate; client_max_window_bits"));
  ASSERT_TRUE(chosen.ok()) << chosen.refusal.reason;
  EXPECT_EQ(chosen.accepted.protocol, std::optional<std::string>("v2"));
  ASSERT_TRUE(chosen.accepted.deflate);
  EXPECT_EQ(chosen.accepted.deflate->client.window_bits, 10);
  EXPECT_TRUE(chosen.accepted.deflate->server.no_context_takeover);
  EXPECT_FALSE(chosen.accepted.deflate->client.no_context_takeover);
}

TEST(UpgradeResponseCheck, MustSwitchInHttp11) {
  expectBadGateway("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", offerOf(),
                   ResponseError::NotSwitching,
                   "the backend answered 403 Forbidden instead of 101 Switching Protocols");
  expectBadGateway("HTTP/1.1 200 \r\n\r\n", offerOf(), ResponseError::NotSwitching,
                   "the backend answered 200  instead of 101 Switching Protocols");
  std::string old = response101();
  old.replace(0, 8, "HTTP/1.0");
  expectBadGateway(old, offerOf(), ResponseError::NotHttp11,
                   "the backend answered 101 in HTTP/1.0: a WebSocket upgrade needs HTTP/1.1");
}

TEST(UpgradeResponseCheck, NeedsUpgradeAndConnection) {
  constexpr std::string_view kWhy =
      "the backend's 101 lacks 'Upgrade: websocket' or 'Connection: Upgrade'";
  std::string no_upgrade = response101();
  no_upgrade.erase(no_upgrade.find("Upgrade: websocket\r\n"), 20);
  expectBadGateway(no_upgrade, offerOf(), ResponseError::NoUpgradeHeaders, kWhy);
  std::string no_connection = response101();
  no_connection.replace(no_connection.find("Connection: Upgrade"), 19, "Connection: close");
  expectBadGateway(no_connection, offerOf(), ResponseError::NoUpgradeHeaders, kWhy);
}

TEST(UpgradeResponseCheck, NeedsExactlyOneRightAccept) {
  expectBadGateway(response101("Sec-WebSocket-Accept: " + std::string(kAccept) + "\r\n"), offerOf(),
                   ResponseError::AcceptCount,
                   "the backend sent 2 Sec-WebSocket-Accept headers; a 101 carries exactly one");
  const std::string other = computeAccept(generateKey());
  expectBadGateway(response101("", other), offerOf(), ResponseError::WrongAccept,
                   "the backend sent a wrong Sec-WebSocket-Accept: '" + other + "'");
  std::string missing = response101();
  missing.erase(missing.find("Sec-WebSocket-Accept"));
  missing += "\r\n";
  expectBadGateway(missing, offerOf(), ResponseError::WrongAccept,
                   "the backend sent a wrong Sec-WebSocket-Accept: '(none)'");
}

TEST(UpgradeResponseCheck, ExtensionsMustFitAnOffer) {
  expectBadGateway(response101("Sec-WebSocket-Extensions: permessage-deflate\r\n"), offerOf(),
                   ResponseError::ExtensionRefused,
                   "the backend's Sec-WebSocket-Extensions 'permessage-deflate' is not "
                   "acceptable: extension 'permessage-deflate' was not offered");
  expectBadGateway(
      response101("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=9\r\n"),
      offerOf({}, "permessage-deflate"), ResponseError::ExtensionRefused,
      "the backend's Sec-WebSocket-Extensions 'permessage-deflate; client_max_window_bits=9' is "
      "not acceptable: permessage-deflate parameters do not fit the offer: client_max_window_bits "
      "in the answer, but the client did not offer it");
}

TEST(UpgradeResponseCheck, SubprotocolMustBeOffered) {
  expectBadGateway(response101("Sec-WebSocket-Protocol: bearer.x\r\n"), offerOf({"chat"}),
                   ResponseError::ProtocolNotOffered,
                   "the backend chose subprotocol 'bearer.x' which the client did not offer");
  expectBadGateway(response101("Sec-WebSocket-Protocol: chat\r\n"), offerOf(),
                   ResponseError::ProtocolNotOffered,
                   "the backend chose subprotocol 'chat' which the client did not offer");
  // Two fields are one list (RFC 9110 section 5.3): not a single offered entry.
  expectBadGateway(response101("Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n"),
                   offerOf({"chat"}), ResponseError::ProtocolNotOffered,
                   "the backend chose subprotocol 'chat, chat' which the client did not offer");
}

TEST(UpgradeResponseCheck, TheFirstBrokenRuleAnswers) {
  // A wrong accept and an unoffered subprotocol: the accept answers; no status: the status.
  expectBadGateway(response101("Sec-WebSocket-Protocol: x\r\n", "AAAA"), offerOf(),
                   ResponseError::WrongAccept,
                   "the backend sent a wrong Sec-WebSocket-Accept: 'AAAA'");
  expectBadGateway("HTTP/1.0 302 Found\r\n\r\n", offerOf(), ResponseError::NotSwitching,
                   "the backend answered 302 Found instead of 101 Switching Protocols");
  // An unacceptable extension and an unoffered subprotocol: the extension answers.
  const ResponseCheck both = checkUpgradeResponse(
      parseResponse(response101("Sec-WebSocket-Protocol: x\r\nSec-WebSocket-Extensions: y\r\n")),
      offerOf());
  EXPECT_EQ(both.error, ResponseError::ExtensionRefused);
}

TEST(UpgradeResponseCheck, SwitchingChecksAloneIgnoreTheNegotiation) {
  const http::Response chosen = parseResponse(response101("Sec-WebSocket-Protocol: x\r\n"));
  EXPECT_EQ(checkSwitching(chosen, kKey), ResponseError::None);
  EXPECT_EQ(checkSwitching(chosen, generateKey()), ResponseError::WrongAccept);
  std::string missing = response101();
  missing.erase(missing.find("Sec-WebSocket-Accept"));
  missing += "\r\n";
  EXPECT_EQ(checkSwitching(parseResponse(missing), kKey), ResponseError::WrongAccept);
}

TEST(ClientResponse, CarriesTheBackendsEndToEndHeaders) {
  const http::Response response = parseResponse(
      "HTTP/1.1 101 Web Socket Protocol Handshake\r\nConnection: Upgrade, Keep-Alive\r\n"
      "Keep-Alive: timeout=5\r\nUpgrade: WebSocket\r\nSec-WebSocket-Accept: " +
      std::string(kAccept) +
      "\r\nContent-Length: 0\r\nSec-WebSocket-Protocol: chat\r\nSet-Cookie: s=1\r\n"
      "Proxy-Authenticate: x\r\nServer: echo\r\n\r\n");
  const ResponseCheck checked = checkUpgradeResponse(response, offerOf({"chat"}));
  ASSERT_TRUE(checked.ok()) << checked.refusal.reason;
  EXPECT_EQ(buildClientResponse(response, checked.accepted),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: " +
                std::string(kAccept) +
                "\r\nSec-WebSocket-Protocol: chat\r\nSet-Cookie: s=1\r\nServer: echo\r\n"
                "\r\n");
}

TEST(RelayParsers, PolicyRulesPerDirection) {
  const RelayParsers parsers = relayParsers({.max_frame_size = 100,
                                             .max_message_size = 1000,
                                             .validate_utf8 = false,
                                             .allow_binary = false},
                                            std::nullopt);
  EXPECT_EQ(parsers.from_client.peer, Role::Client);
  EXPECT_EQ(parsers.from_client.max_frame_size, 100U);
  EXPECT_EQ(parsers.from_client.max_message_size, 1000U);
  EXPECT_FALSE(parsers.from_client.validate_utf8);
  EXPECT_FALSE(parsers.from_client.allow_binary);
  EXPECT_FALSE(parsers.from_client.deflate);
  // A backend that sends each message as one frame is held to max_message_size only.
  EXPECT_EQ(parsers.from_backend.peer, Role::Server);
  EXPECT_EQ(parsers.from_backend.max_frame_size, 1000U);
  EXPECT_EQ(parsers.from_backend.max_message_size, 1000U);
  EXPECT_FALSE(parsers.from_backend.validate_utf8);
  EXPECT_FALSE(parsers.from_backend.allow_binary);
  EXPECT_FALSE(parsers.from_backend.deflate);
}

TEST(RelayParsers, BackendFrameLimitAndDeflateDirections) {
  DeflateSession deflate;
  deflate.client = {.window_bits = 9, .no_context_takeover = true};
  deflate.server = {.window_bits = 12, .no_context_takeover = false};
  const RelayParsers parsers = relayParsers(
      {.max_frame_size = 100, .max_message_size = 1000, .backend_max_frame_size = 500}, deflate);
  EXPECT_EQ(parsers.from_backend.max_frame_size, 500U);
  EXPECT_TRUE(parsers.from_client.validate_utf8);
  ASSERT_TRUE(parsers.from_client.deflate);
  EXPECT_EQ(parsers.from_client.deflate->window_bits, 9);
  EXPECT_TRUE(parsers.from_client.deflate->no_context_takeover);
  ASSERT_TRUE(parsers.from_backend.deflate);
  EXPECT_EQ(parsers.from_backend.deflate->window_bits, 12);
  EXPECT_FALSE(parsers.from_backend.deflate->no_context_takeover);
}

} // namespace
} // namespace wsgate::ws
