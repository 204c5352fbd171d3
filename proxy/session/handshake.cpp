// The upgrade handshake of a session: the client's request, routing and admission, the
// forwarded request and the backend's 101 (the backend connection: backend_connect.cpp).
#include "common/ws/handshake.h"

#include "common/auth/token_source.h"
#include "common/config/routing.h"
#include "common/http/error_response.h"
#include "common/http/headers.h"
#include "common/http/target.h"
#include "common/ws/deflate_params.h"
#include "proxy/metrics/names.h"
#include "proxy/session/session.h"

#include <cstring>
#include <string>

namespace wsgate::proxy {

namespace {

// Frames a client may pipeline behind its request before the 101 (browsers send none).
constexpr std::size_t kMaxEarlyClientBytes = std::size_t{64} * 1024;

// Hop-by-hop headers (RFC 9110 section 7.6.1) and the ones wsgate sets itself.
bool isHopByHop(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "connection",        "keep-alive",        "proxy-connection", "te",
      "trailer",           "transfer-encoding", "upgrade",          "proxy-authorization",
      "proxy-authenticate"};
  for (const std::string_view hop : kNames) {
    if (http::equalsIgnoreCase(name, hop)) return true;
  }
  return false;
}

// True when the request's Connection header names `name` as hop-by-hop.
bool listedInConnection(const http::HeaderList& headers, std::string_view name) {
  const auto connection = headers.getAll("connection");
  return connection && http::listHasToken(*connection, name);
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

// Client headers admission replaces: claim headers (a client cannot forge them) and, when a
// token may come from the subprotocol list, that list (rewritten without the token).
bool droppedByAdmission(const policy::Admitted& admitted, std::string_view name) {
  for (const std::string& dropped : admitted.drop_headers) {
    if (http::equalsIgnoreCase(name, dropped)) return true;
  }
  return admitted.drop_token_protocol && http::equalsIgnoreCase(name, "sec-websocket-protocol");
}

void appendAdmissionHeaders(const policy::Admitted& admitted,
                            const std::vector<std::string>& protocols, std::string& out) {
  if (admitted.drop_token_protocol && !protocols.empty()) {
    out += "Sec-WebSocket-Protocol: ";
    for (std::size_t i = 0; i < protocols.size(); ++i) {
      if (i > 0) out += ", ";
      out += protocols[i];
    }
    out += "\r\n";
  }
  for (const http::Header& header : admitted.claim_headers) {
    out += header.name + ": " + header.value + "\r\n";
  }
}

} // namespace

void Session::reject(int status, std::string_view reason, Termination termination,
                     std::vector<http::Header> extra_headers) {
  http_status_ = status;
  termination_ = termination;
  error_ = std::make_unique<std::string>(reason);
  disarm(HandshakeTimer);
  if (backend_.stream && !backend_.stream->closing()) backend_.stream->close();
  for (auto& retired : retired_)
    retired->close();
  handshake_.reset();
  lease_.reset();
  setState(State::Rejecting);
  if (!client_.stream || client_.stream->closing()) return;
  const std::string body = std::string(reason) + "\n";
  client_.stream->writeCopy(http::buildErrorResponse(status, body, extra_headers));
  // Lingering close: send FIN after the response and read (and drop) what the client still
  // sends, so that closing does not reset the connection before the client read the answer.
  client_.stream->shutdownWrite();
  client_.stream->startRead();
  arm(CloseTimer, kLingerMs);
}

void Session::onRequestData(std::span<const uint8_t> bytes) {
  Handshake& hs = *handshake_;
  const http::ParseResult result = hs.request.feed(bytes);
  if (result.status == http::ParseStatus::NeedMore) return;
  if (result.status == http::ParseStatus::Error) {
    const http::ParseError& error = hs.request.error();
    reject(error.http_status, error.reason, Termination::HandshakeRejected);
    return;
  }
  // The client stays read while the backend is reached (its EOF is seen at once, and no read
  // stop/start is paid per upgrade); what it sends meanwhile waits for the 101.
  onEarlyClientData(bytes.subspan(result.consumed));
  if (state_ == State::ReadingRequest) handleRequest();
}

void Session::onEarlyClientData(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return;
  Handshake& hs = *handshake_;
  if (hs.early_client.size() + bytes.size() > kMaxEarlyClientBytes) {
    reject(400, "frames sent before the handshake completed", Termination::HandshakeRejected);
    return;
  }
  hs.early_client.insert(hs.early_client.end(), bytes.begin(), bytes.end());
}

void Session::handleRequest() {
  Handshake& hs = *handshake_;
  const http::Request& request = hs.request.request();
  const http::HeaderList& headers = request.headers;
  path_ = request.target.substr(0, request.target.find('?')); // the query may hold secrets
  if (request.method != "GET") {
    reject(405, "a WebSocket upgrade must use GET", Termination::HandshakeRejected,
           {{"Allow", "GET"}});
    return;
  }
  if (request.version_major != 1 || request.version_minor != 1) {
    reject(400, "a WebSocket upgrade needs HTTP/1.1", Termination::HandshakeRejected);
    return;
  }
  if (headers.count("host") > 1) {
    reject(400, "more than one Host header: a request carries exactly one (RFC 9112 section 3.2)",
           Termination::HandshakeRejected);
    return;
  }
  const auto host = headers.get("host");
  if (!host || host->empty()) {
    reject(400, "missing Host header", Termination::HandshakeRejected);
    return;
  }
  const auto upgrade = headers.getAll("upgrade");
  if (!upgrade || !http::listHasToken(*upgrade, "websocket")) {
    reject(400, "missing or wrong Upgrade header: expected 'Upgrade: websocket'",
           Termination::HandshakeRejected);
    return;
  }
  if (!listedInConnection(headers, "upgrade")) {
    reject(400, "the Connection header must contain 'Upgrade'", Termination::HandshakeRejected);
    return;
  }
  if (request.has_body) {
    reject(400, "a WebSocket upgrade request has no body", Termination::HandshakeRejected);
    return;
  }
  const auto version = headers.get("sec-websocket-version");
  if (!version || http::trimOws(*version) != "13") {
    reject(426, "unsupported Sec-WebSocket-Version: this server speaks version 13",
           Termination::HandshakeRejected, {{"Sec-WebSocket-Version", "13"}});
    return;
  }
  const auto key = headers.get("sec-websocket-key");
  if (!key || headers.count("sec-websocket-key") != 1 || !ws::isValidKey(http::trimOws(*key))) {
    reject(400, "missing or invalid Sec-WebSocket-Key: it must be the base64 of 16 bytes",
           Termination::HandshakeRejected);
    return;
  }
  hs.key.assign(http::trimOws(*key));
  hs.host.assign(*host);
  if (!routeRequest(request)) return;
  connectBackend();
}

bool Session::routeRequest(const http::Request& request) {
  Handshake& hs = *handshake_;
  const http::TargetResult parsed = http::normalizeTarget(request.target);
  if (parsed.error != http::TargetError::None) {
    reject(400, http::reasonFor(parsed.error), Termination::HandshakeRejected);
    return false;
  }
  // RFC 9112 section 3.2.2: the authority of an absolute-form target wins over Host; it is
  // also the Host the backend gets, so wsgate and the backend see the same host.
  if (parsed.target.absolute_form) hs.host = parsed.target.authority;
  path_ = parsed.target.path;
  hs.target = parsed.target.originForm();
  route_ = config::matchRoute(*config_, listener_index_, hs.host, path_);
  if (route_ == nullptr) {
    reject(404,
           "no route for host '" + config::hostWithoutPort(hs.host) + "' and path '" + path_ + "'",
           Termination::HandshakeRejected);
    return false;
  }
  pool_ = &config_->pools[route_->pool_index];
  policy_ = route_->policy_ptr;
  if (!admitRequest(request)) return false;
  if (const auto protocols = request.headers.getAll("sec-websocket-protocol")) {
    hs.offered_protocols = hs.admitted.drop_token_protocol ? auth::protocolsWithoutToken(*protocols)
                                                           : splitTokens(*protocols);
  }
  if (pool_->balance == config::Balance::ConsistentHash) hs.key_hash = hashKeyOf(request);
  return true;
}

void Session::sendUpgradeRequest() {
  Handshake& hs = *handshake_;
  const http::Request& request = hs.request.request();
  std::string out; // writeCopy keeps its own copy until written
  out.reserve(512);
  out += "GET ";
  out += hs.target;
  out += " HTTP/1.1\r\n";
  std::string forwarded_for;
  const policy::Admitted& admitted = hs.admitted;
  for (const http::Header& header : request.headers) {
    const std::string_view name = header.name;
    if (droppedByAdmission(admitted, name)) continue;
    if (isHopByHop(name) || listedInConnection(request.headers, name) ||
        http::equalsIgnoreCase(name, "sec-websocket-extensions") ||
        http::equalsIgnoreCase(name, "x-forwarded-proto") ||
        http::equalsIgnoreCase(name, "x-forwarded-host")) {
      continue;
    }
    if (http::equalsIgnoreCase(name, "x-forwarded-for")) {
      if (!forwarded_for.empty()) forwarded_for += ", ";
      forwarded_for += header.value;
      continue;
    }
    out += header.name;
    out += ": ";
    // The one Host header carries the host wsgate routed by (see routeRequest).
    out += http::equalsIgnoreCase(name, "host") ? std::string_view(hs.host)
                                                : std::string_view(header.value);
    out += "\r\n";
  }
  if (!forwarded_for.empty()) forwarded_for += ", ";
  forwarded_for += clientIp();
  appendAdmissionHeaders(admitted, hs.offered_protocols, out);
  out += "Upgrade: websocket\r\nConnection: Upgrade\r\n";
  hs.deflate_offers.clear();
  if (const auto extensions = request.headers.getAll("sec-websocket-extensions");
      extensions && policy_->compression == config::CompressionMode::Inspect) {
    // permessage-deflate offers pass as written; wsgate cannot look inside other extensions.
    const std::string kept = ws::keepDeflateOffers(*extensions, hs.deflate_offers);
    if (!kept.empty()) out += "Sec-WebSocket-Extensions: " + kept + "\r\n";
  }
  out += "X-Forwarded-For: " + forwarded_for + "\r\n";
  out += config_->listeners[listener_index_].tls ? "X-Forwarded-Proto: wss\r\n"
                                                 : "X-Forwarded-Proto: ws\r\n";
  out += "X-Forwarded-Host: " + hs.host + "\r\n\r\n";
  backend_.stream->writeCopy(std::string_view(out));
}

void Session::onResponseData(std::span<const uint8_t> bytes) {
  Handshake& hs = *handshake_;
  const http::ParseResult result = hs.response.feed(bytes);
  if (result.status == http::ParseStatus::NeedMore) return;
  if (result.status == http::ParseStatus::Error) {
    reject(502, std::string("the backend sent a malformed response: ") + hs.response.error().reason,
           Termination::BackendRejected);
    return;
  }
  const std::span<const uint8_t> early = bytes.subspan(result.consumed);
  std::vector<uint8_t> early_backend(early.begin(), early.end());
  handleResponse();
  if (state_ == State::AwaitingResponse) openSession(early_backend);
}

void Session::handleResponse() {
  Handshake& hs = *handshake_;
  const http::Response& response = hs.response.response();
  const http::HeaderList& headers = response.headers;
  recordBackendVerdict(response.status < 500,
                       "answered " + std::to_string(response.status) + " to an upgrade");
  if (response.status != 101) {
    reject(502,
           "the backend answered " + std::to_string(response.status) + " " + response.reason +
               " instead of 101 Switching Protocols",
           Termination::BackendRejected);
    return;
  }
  if (response.version_major != 1 || response.version_minor != 1) {
    reject(502,
           "the backend answered 101 in HTTP/" + std::to_string(response.version_major) + "." +
               std::to_string(response.version_minor) + ": a WebSocket upgrade needs HTTP/1.1",
           Termination::BackendRejected);
    return;
  }
  const auto upgrade = headers.getAll("upgrade");
  const auto connection = headers.getAll("connection");
  if (!upgrade || !http::listHasToken(*upgrade, "websocket") || !connection ||
      !http::listHasToken(*connection, "upgrade")) {
    reject(502, "the backend's 101 lacks 'Upgrade: websocket' or 'Connection: Upgrade'",
           Termination::BackendRejected);
    return;
  }
  if (const std::size_t accepts = headers.count("sec-websocket-accept"); accepts > 1) {
    reject(502,
           "the backend sent " + std::to_string(accepts) +
               " Sec-WebSocket-Accept headers; a 101 carries exactly one",
           Termination::BackendRejected);
    return;
  }
  const auto accept = headers.get("sec-websocket-accept");
  if (!accept || http::trimOws(*accept) != ws::computeAccept(hs.key)) {
    reject(502,
           "the backend sent a wrong Sec-WebSocket-Accept: '" +
               std::string(accept ? *accept : "(none)") + "'",
           Termination::BackendRejected);
    return;
  }
  if (const auto extensions = headers.getAll("sec-websocket-extensions")) {
    const ws::DeflateAnswer answer = ws::checkDeflateAnswer(*extensions, hs.deflate_offers);
    if (!answer.ok()) {
      reject(502,
             "the backend's Sec-WebSocket-Extensions '" + *extensions +
                 "' is not acceptable: " + answer.reason,
             Termination::BackendRejected);
      return;
    }
    hs.deflate = answer.session;
  }
  if (const auto protocol = headers.get("sec-websocket-protocol")) {
    const std::string chosen(http::trimOws(*protocol));
    bool offered = false;
    for (const std::string& p : hs.offered_protocols)
      offered = offered || p == chosen;
    if (!offered) {
      reject(502, "the backend chose subprotocol '" + chosen + "' which the client did not offer",
             Termination::BackendRejected);
      return;
    }
    protocol_ = std::make_unique<std::string>(chosen);
  }
  std::string out = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Accept: ";
  out += http::trimOws(*accept);
  out += "\r\n";
  for (const http::Header& header : headers) {
    const std::string_view name = header.name;
    if (isHopByHop(name) || http::equalsIgnoreCase(name, "sec-websocket-accept") ||
        http::equalsIgnoreCase(name, "content-length")) {
      continue;
    }
    out += header.name;
    out += ": ";
    out += header.value;
    out += "\r\n";
  }
  out += "\r\n";
  http_status_ = 101;
  client_.stream->writeCopy(std::string_view(out));
}

void Session::openSession(std::span<const uint8_t> early_backend_bytes) {
  disarm(HandshakeTimer);
  ws::ParserOptions options;
  options.max_frame_size = policy_->max_frame_size;
  options.max_message_size = policy_->max_message_size;
  options.validate_utf8 = policy_->utf8 == config::Utf8Mode::Strict;
  options.allow_binary = policy_->allow_binary;
  options.peer = ws::Role::Client;
  compressed_ = handshake_->deflate.has_value();
  if (compressed_) options.deflate = handshake_->deflate->client;
  to_backend_.configure(options);
  // Frames from the backend have a limit of their own: a backend that sends each message as
  // one frame is only held to max_message_size unless backend_max_frame_size says otherwise.
  options.max_frame_size = policy_->backend_max_frame_size != 0 ? policy_->backend_max_frame_size
                                                                : policy_->max_message_size;
  options.peer = ws::Role::Server;
  if (compressed_) options.deflate = handshake_->deflate->server;
  to_client_.configure(options);
  std::vector<uint8_t> early_client = std::move(handshake_->early_client);
  const std::optional<int64_t> close_at = handshake_->admitted.close_at_unix_ms;
  handshake_.reset(); // the handshake's buffers are not kept for the session's life
  setState(State::Open);
  opened_ms_ = now();
  recordOpened();
  last_client_rx_ms_ = opened_ms_;
  last_activity_ms_ = opened_ms_;
  if (policy_->ping_interval.count() > 0) {
    arm(PingTimer, static_cast<uint64_t>(policy_->ping_interval.count()));
  }
  if (policy_->idle_timeout.count() > 0) {
    arm(IdleTimer, static_cast<uint64_t>(policy_->idle_timeout.count()));
  }
  if (policy_->max_session_lifetime.count() > 0) {
    arm(LifetimeTimer, static_cast<uint64_t>(policy_->max_session_lifetime.count()));
  }
  if (close_at) {
    token_close_at_ms_ = *close_at;
    onTokenExpired(); // arms the timer, or closes at once when the token expired meanwhile
  }
  const auto feedEarly = [this](Relay& relay, Leg& from, Leg& to, std::span<const uint8_t> bytes) {
    if (bytes.empty() || state_ != State::Open) return;
    Block* block = host_.pool().acquire();
    std::memcpy(block->data.data(), bytes.data(), bytes.size());
    relayData(relay, from, to, block, block->data.data(), bytes.size());
    host_.pool().release(block);
  };
  feedEarly(to_client_, backend_, client_, early_backend_bytes);
  feedEarly(to_backend_, client_, backend_, early_client);
  if (state_ == State::Open || state_ == State::Closing) {
    if (!client_.read_ended) client_.stream->startRead();
  }
}

} // namespace wsgate::proxy
