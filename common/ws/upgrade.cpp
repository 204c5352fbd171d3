#include "common/ws/upgrade.h"

#include "common/http/headers.h"
#include "common/http/target.h"
#include "common/ws/handshake.h"

#include <algorithm>

namespace wsgate::ws {

namespace {

// Hop-by-hop headers (RFC 9110 section 7.6.1) and the ones wsgate sets itself.
bool isHopByHop(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "connection",        "keep-alive",        "proxy-connection", "te",
      "trailer",           "transfer-encoding", "upgrade",          "proxy-authorization",
      "proxy-authenticate"};
  return std::ranges::any_of(
      kNames, [name](std::string_view hop) { return http::equalsIgnoreCase(name, hop); });
}

std::vector<std::string> splitTokens(std::string_view value) {
  std::vector<std::string> out;
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    const std::string_view item = http::trimOws(value.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

UpgradeRefusal badRequest(std::string reason) {
  return {400, std::move(reason), {}};
}

// The rules of the request line and the header fields, in the order they answer.
std::optional<UpgradeRefusal> checkHead(const http::Request& request) {
  const http::HeaderList& headers = request.headers;
  if (request.method != "GET") {
    return UpgradeRefusal{405, "a WebSocket upgrade must use GET", {{"Allow", "GET"}}};
  }
  if (request.version_major != 1 || request.version_minor != 1) {
    return badRequest("a WebSocket upgrade needs HTTP/1.1");
  }
  if (headers.count("host") > 1) {
    return badRequest("more than one Host header: a request carries exactly one (RFC 9112 "
                      "section 3.2)");
  }
  const auto host = headers.get("host");
  if (!host || host->empty()) return badRequest("missing Host header");
  if (!headers.hasToken("upgrade", "websocket")) {
    return badRequest("missing or wrong Upgrade header: expected 'Upgrade: websocket'");
  }
  if (!headers.hasToken("connection", "upgrade")) {
    return badRequest("the Connection header must contain 'Upgrade'");
  }
  if (request.has_body) return badRequest("a WebSocket upgrade request has no body");
  const auto version = headers.get("sec-websocket-version");
  if (!version || http::trimOws(*version) != "13") {
    return UpgradeRefusal{426,
                          "unsupported Sec-WebSocket-Version: this server speaks version 13",
                          {{"Sec-WebSocket-Version", "13"}}};
  }
  const auto key = headers.get("sec-websocket-key");
  if (!key || headers.count("sec-websocket-key") != 1 || !isValidKey(http::trimOws(*key))) {
    return badRequest("missing or invalid Sec-WebSocket-Key: it must be the base64 of 16 bytes");
  }
  return std::nullopt;
}

// True when the client's header `name` goes to the backend as it is.
bool forwarded(std::string_view name, const std::optional<std::string>& connection,
               const ForwardOptions& options) {
  for (const std::string& dropped : options.drop_headers) {
    if (http::equalsIgnoreCase(name, dropped)) return false;
  }
  if (options.protocols != nullptr && http::equalsIgnoreCase(name, "sec-websocket-protocol")) {
    return false;
  }
  return !isHopByHop(name) && !(connection && http::listHasToken(*connection, name)) &&
         !http::equalsIgnoreCase(name, "sec-websocket-extensions") &&
         !http::equalsIgnoreCase(name, "x-forwarded-proto") &&
         !http::equalsIgnoreCase(name, "x-forwarded-host");
}

// Why the switching checks failed, as the session's 502 says it.
std::string switchingReason(ResponseError error, const http::Response& response) {
  const http::HeaderList& headers = response.headers;
  switch (error) {
  case ResponseError::NotSwitching:
    return "the backend answered " + std::to_string(response.status) + " " + response.reason +
           " instead of 101 Switching Protocols";
  case ResponseError::NotHttp11:
    return "the backend answered 101 in HTTP/" + std::to_string(response.version_major) + "." +
           std::to_string(response.version_minor) + ": a WebSocket upgrade needs HTTP/1.1";
  case ResponseError::NoUpgradeHeaders:
    return "the backend's 101 lacks 'Upgrade: websocket' or 'Connection: Upgrade'";
  case ResponseError::AcceptCount:
    return "the backend sent " + std::to_string(headers.count("sec-websocket-accept")) +
           " Sec-WebSocket-Accept headers; a 101 carries exactly one";
  case ResponseError::WrongAccept: {
    const auto accept = headers.get("sec-websocket-accept");
    return "the backend sent a wrong Sec-WebSocket-Accept: '" +
           std::string(accept ? *accept : "(none)") + "'";
  }
  default:
    return "";
  }
}

// The negotiation checks after checkSwitching(): the extension answer and the subprotocol.
ResponseCheck checkNegotiation(const http::Response& response, const UpgradeOffer& offer) {
  ResponseCheck check;
  const http::HeaderList& headers = response.headers;
  if (const auto extensions = headers.getAll("sec-websocket-extensions")) {
    DeflateAnswer answer = checkDeflateAnswer(*extensions, offer.deflate_offers);
    if (!answer.ok()) {
      check.error = ResponseError::ExtensionRefused;
      check.refusal = {502,
                       "the backend's Sec-WebSocket-Extensions '" + *extensions +
                           "' is not acceptable: " + answer.reason,
                       {}};
      return check;
    }
    check.accepted.deflate = answer.session;
  }
  // Every field joined (RFC 9110 section 5.3): two fields are a list, which no client offered.
  if (const auto protocol = headers.getAll("sec-websocket-protocol")) {
    std::string chosen(http::trimOws(*protocol));
    if (std::ranges::find(offer.protocols, chosen) == offer.protocols.end()) {
      check.error = ResponseError::ProtocolNotOffered;
      check.refusal = {
          502, "the backend chose subprotocol '" + chosen + "' which the client did not offer", {}};
      return check;
    }
    check.accepted.protocol = std::move(chosen);
  }
  return check;
}

} // namespace

RequestCheck checkUpgradeRequest(const http::Request& request) {
  RequestCheck check;
  if (std::optional<UpgradeRefusal> refusal = checkHead(request)) {
    check.refusal = std::move(*refusal);
    return check;
  }
  http::TargetResult parsed = http::normalizeTarget(request.target);
  if (parsed.error != http::TargetError::None) {
    check.refusal = badRequest(http::reasonFor(parsed.error));
    return check;
  }
  const http::HeaderList& headers = request.headers;
  UpgradeRequest& up = check.upgrade;
  up.key.assign(http::trimOws(*headers.get("sec-websocket-key")));
  // RFC 9112 section 3.2.2: the authority of an absolute-form target wins over Host; it is also
  // the Host the backend gets, so wsgate and the backend see the same host.
  up.host =
      parsed.target.absolute_form ? parsed.target.authority : std::string(*headers.get("host"));
  up.target = parsed.target.originForm();
  up.path = std::move(parsed.target.path);
  if (const auto protocols = headers.getAll("sec-websocket-protocol")) {
    up.protocols = splitTokens(*protocols);
  }
  if (const auto extensions = headers.getAll("sec-websocket-extensions")) {
    up.deflate_offer = keepDeflateOffers(*extensions, up.deflate_offers);
  }
  return check;
}

BackendRequest buildBackendRequest(const http::Request& request, const UpgradeRequest& upgrade,
                                   const ForwardOptions& options) {
  BackendRequest built;
  std::string& out = built.head;
  out.reserve(512);
  out += "GET ";
  out += options.target;
  out += " HTTP/1.1\r\n";
  const std::optional<std::string> connection = request.headers.getAll("connection");
  std::string forwarded_for;
  for (const http::Header& header : request.headers) {
    const std::string_view name = header.name;
    if (!forwarded(name, connection, options)) continue;
    if (http::equalsIgnoreCase(name, "x-forwarded-for")) {
      if (!forwarded_for.empty()) forwarded_for += ", ";
      forwarded_for += header.value;
      continue;
    }
    // The one Host header carries the host wsgate routed by (UpgradeRequest::host).
    http::appendHeader(out, name,
                       http::equalsIgnoreCase(name, "host") ? upgrade.host : header.value);
  }
  if (!forwarded_for.empty()) forwarded_for += ", ";
  forwarded_for += options.client_ip;
  const std::vector<std::string>& protocols =
      options.protocols != nullptr ? *options.protocols : upgrade.protocols;
  if (options.protocols != nullptr && !protocols.empty()) {
    out += "Sec-WebSocket-Protocol: ";
    for (std::size_t i = 0; i < protocols.size(); ++i) {
      if (i > 0) out += ", ";
      out += protocols[i];
    }
    out += "\r\n";
  }
  for (const http::Header& header : options.add_headers)
    http::appendHeader(out, header.name, header.value);
  out += "Upgrade: websocket\r\nConnection: Upgrade\r\n";
  if (options.forward_deflate && !upgrade.deflate_offer.empty()) {
    http::appendHeader(out, "Sec-WebSocket-Extensions", upgrade.deflate_offer);
  }
  http::appendHeader(out, "X-Forwarded-For", forwarded_for);
  out += options.tls ? "X-Forwarded-Proto: wss\r\n" : "X-Forwarded-Proto: ws\r\n";
  http::appendHeader(out, "X-Forwarded-Host", upgrade.host);
  out += "\r\n";
  built.offer.key = upgrade.key;
  built.offer.protocols = protocols;
  if (options.forward_deflate) built.offer.deflate_offers = upgrade.deflate_offers;
  return built;
}

ResponseError checkSwitching(const http::Response& response, std::string_view key) {
  const http::HeaderList& headers = response.headers;
  if (response.status != 101) return ResponseError::NotSwitching;
  if (response.version_major != 1 || response.version_minor != 1) return ResponseError::NotHttp11;
  if (!headers.hasToken("upgrade", "websocket") || !headers.hasToken("connection", "upgrade")) {
    return ResponseError::NoUpgradeHeaders;
  }
  if (headers.count("sec-websocket-accept") > 1) return ResponseError::AcceptCount;
  const auto accept = headers.get("sec-websocket-accept");
  if (!accept || http::trimOws(*accept) != computeAccept(key)) return ResponseError::WrongAccept;
  return ResponseError::None;
}

ResponseCheck checkUpgradeResponse(const http::Response& response, const UpgradeOffer& offer) {
  if (const ResponseError error = checkSwitching(response, offer.key);
      error != ResponseError::None) {
    ResponseCheck check;
    check.error = error;
    check.refusal = {502, switchingReason(error, response), {}};
    return check;
  }
  ResponseCheck check = checkNegotiation(response, offer);
  if (check.ok()) {
    check.accepted.accept.assign(http::trimOws(*response.headers.get("sec-websocket-accept")));
  }
  return check;
}

std::string buildClientResponse(const http::Response& response, const UpgradeAccepted& accepted) {
  std::string out = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\n";
  http::appendHeader(out, "Sec-WebSocket-Accept", accepted.accept);
  for (const http::Header& header : response.headers) {
    const std::string_view name = header.name;
    if (isHopByHop(name) || http::equalsIgnoreCase(name, "sec-websocket-accept") ||
        http::equalsIgnoreCase(name, "content-length")) {
      continue;
    }
    http::appendHeader(out, name, header.value);
  }
  out += "\r\n";
  return out;
}

RelayParsers relayParsers(const FrameRules& rules, const std::optional<DeflateSession>& deflate) {
  RelayParsers parsers;
  ParserOptions& client = parsers.from_client;
  client.max_frame_size = rules.max_frame_size;
  client.max_message_size = rules.max_message_size;
  client.validate_utf8 = rules.validate_utf8;
  client.allow_binary = rules.allow_binary;
  client.peer = Role::Client;
  ParserOptions& backend = parsers.from_backend;
  backend = client;
  backend.max_frame_size =
      rules.backend_max_frame_size != 0 ? rules.backend_max_frame_size : rules.max_message_size;
  backend.peer = Role::Server;
  if (deflate) {
    client.deflate = deflate->client;
    backend.deflate = deflate->server;
  }
  return parsers;
}

} // namespace wsgate::ws
