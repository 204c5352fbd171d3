// The upgrade handshake of a session: the client's request, routing and admission, the
// forwarded request and the backend's 101 (the backend connection: backend_connect.cpp).
#include "common/auth/token_source.h"
#include "common/config/routing.h"
#include "common/http/error_response.h"
#include "common/ws/upgrade.h"
#include "proxy/metrics/names.h"
#include "proxy/session/session.h"

#include <cstring>
#include <string>

namespace wsgate::proxy {

namespace {

// Frames a client may pipeline behind its request before the 101 (browsers send none).
constexpr std::size_t kMaxEarlyClientBytes = std::size_t{64} * 1024;

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
  path_ = request.target.substr(0, request.target.find('?')); // the query may hold secrets
  ws::RequestCheck checked = ws::checkUpgradeRequest(request);
  if (!checked.ok()) {
    reject(checked.refusal.status, checked.refusal.reason, Termination::HandshakeRejected,
           std::move(checked.refusal.headers));
    return;
  }
  hs.upgrade = std::move(checked.upgrade);
  path_ = hs.upgrade.path;
  hs.target = hs.upgrade.target;
  if (!routeRequest(request)) return;
  connectBackend();
}

bool Session::routeRequest(const http::Request& request) {
  Handshake& hs = *handshake_;
  route_ = config::matchRoute(*config_, listener_index_, hs.upgrade.host, path_);
  if (route_ == nullptr) {
    reject(404,
           "no route for host '" + config::hostWithoutPort(hs.upgrade.host) + "' and path '" +
               path_ + "'",
           Termination::HandshakeRejected);
    return false;
  }
  pool_ = &config_->pools[route_->pool_index];
  policy_ = route_->policy_ptr;
  if (!admitRequest(request)) return false;
  if (pool_->balance == config::Balance::ConsistentHash) hs.key_hash = hashKeyOf(request);
  return true;
}

void Session::sendUpgradeRequest() {
  Handshake& hs = *handshake_;
  const http::Request& request = hs.request.request();
  const policy::Admitted& admitted = hs.admitted;
  // With a token allowed in the subprotocol list, the backend gets the list without it.
  std::optional<std::vector<std::string>> protocols;
  if (admitted.drop_token_protocol) {
    const auto offered = request.headers.getAll("sec-websocket-protocol");
    protocols = offered ? auth::protocolsWithoutToken(*offered) : std::vector<std::string>{};
  }
  const std::string ip = clientIp();
  const ws::ForwardOptions options{
      .target = hs.target,
      .client_ip = ip,
      .tls = config_->listeners[listener_index_].tls.has_value(),
      .forward_deflate = policy_->compression == config::CompressionMode::Inspect,
      .add_headers = admitted.claim_headers,
      .drop_headers = admitted.drop_headers,
      .protocols = protocols ? &*protocols : nullptr,
  };
  ws::BackendRequest built = ws::buildBackendRequest(request, hs.upgrade, options);
  hs.offer = std::move(built.offer);
  backend_.stream->writeCopy(std::string_view(built.head)); // writeCopy keeps its own copy
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
  recordBackendVerdict(response.status < 500,
                       "answered " + std::to_string(response.status) + " to an upgrade");
  ws::ResponseCheck checked = ws::checkUpgradeResponse(response, hs.offer);
  if (!checked.ok()) {
    reject(checked.refusal.status, checked.refusal.reason, Termination::BackendRejected);
    return;
  }
  hs.deflate = checked.accepted.deflate;
  if (checked.accepted.protocol) {
    protocol_ = std::make_unique<std::string>(std::move(*checked.accepted.protocol));
  }
  http_status_ = 101;
  client_.stream->writeCopy(std::string_view(ws::buildClientResponse(response, checked.accepted)));
}

void Session::openSession(std::span<const uint8_t> early_backend_bytes) {
  disarm(HandshakeTimer);
  const ws::FrameRules rules{.max_frame_size = policy_->max_frame_size,
                             .max_message_size = policy_->max_message_size,
                             .backend_max_frame_size = policy_->backend_max_frame_size,
                             .validate_utf8 = policy_->utf8 == config::Utf8Mode::Strict,
                             .allow_binary = policy_->allow_binary};
  const ws::RelayParsers parsers = ws::relayParsers(rules, handshake_->deflate);
  compressed_ = handshake_->deflate.has_value();
  to_backend_.configure(parsers.from_client);
  to_client_.configure(parsers.from_backend);
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
    if (!client_.readEnded()) client_.stream->startRead();
  }
}

} // namespace wsgate::proxy
