// A session's backend connection: the connector (proxy/balancer/connector.h) resolves,
// connects and runs the TLS handshake of each backend the balancer picks, under the pool's
// connect_timeout, and the next backend is tried when one fails. The session holds the
// streams; the 101 exchange starts once one is connected.
#include "common/config/values.h"
#include "proxy/balancer/balancer.h"
#include "proxy/session/session.h"
#include "proxy/transport/address.h"

namespace wsgate::proxy {

void Session::connectBackend() {
  Handshake& hs = *handshake_;
  disarm(HandshakeTimer); // the connector's own timer limits each attempt
  hs.connector.emplace(host_.loop(), &host_.wheel(), static_cast<ConnectorOwner&>(*this));
  hs.connector->start(static_cast<uint64_t>(pool_->connect_timeout.count()));
}

bool Session::connecting() const {
  return state_ == State::Resolving || state_ == State::Connecting || state_ == State::TlsHandshake;
}

void Session::retireBackend() {
  if (!backend_.stream) return;
  backend_.stream->close();
  retired_.push_back(std::move(backend_.stream));
  backend_.established = false;
}

// The balancer's next pick, skipping the backends this session tried already; none left
// answers the client (503 when none was tried, else 502 or 504 with the last error).
ConnectTarget Session::nextTarget() {
  Handshake& hs = *handshake_;
  if (lease_) hs.tried.push_back(lease_.shared());
  lease_.reset();
  const PickRequest request{&hs.tried, hs.key_hash, steadyNowMs()};
  PickResult picked = host_.balancer(*pool_).pick(*pool_, request);
  if (!picked.lease) {
    if (hs.tried.empty()) {
      rejectUnavailable(picked.listed, picked.down, picked.full);
      return {};
    }
    const bool timeout = hs.last_error.starts_with("connect timeout");
    reject(timeout ? 504 : 502,
           "no backend of pool '" + pool_->name +
               "' accepted the connection (last error: " + hs.last_error + ")",
           timeout ? Termination::BackendTimeout : Termination::BackendUnreachable);
    return {};
  }
  lease_ = std::move(picked.lease);
  entry_ = lease_.shared();
  const config::Backend& backend = entry_->backend();
  upstream_addr_ = config::formatAddress(backend.address);
  picked_ = &backend;
  connect_started_ms_ = now();
  return {&backend, nullptr};
}

Stream* Session::openStream(const sockaddr* address, std::string& error) {
  backend_.stream = host_.backendStream(*config_, *pool_, *picked_, *this, error);
  upstream_addr_ = formatSockaddr(address);
  if (!backend_.stream) return nullptr;
  ++open_handles_;
  return backend_.stream.get();
}

void Session::onConnectPhase(ConnectPhase phase) {
  switch (phase) {
  case ConnectPhase::Resolving:
    setState(State::Resolving);
    return;
  case ConnectPhase::Connecting:
    setState(State::Connecting);
    return;
  case ConnectPhase::TlsHandshake:
    setState(State::TlsHandshake);
    return;
  default:
    return; // Idle and Connected are not reported
  }
}

// An attempt failed before a connection existed (DNS, a socket error, TLS, a timeout): it
// counts as a failed connect of the picked backend, and the connector tries the next one. A
// stream that could not be made (a reload removed the pool's TLS context) is not the
// backend's fault and is not counted.
void Session::onConnectFailed(ConnectFailure failure, const std::string& error) {
  handshake_->last_error = error;
  if (failure == ConnectFailure::NoStream) return;
  recordConnect(false);
  retireBackend();
}

void Session::onStreamConnect(Stream& stream, int status) {
  if (legOf(stream) != &backend_ || !connecting()) return;
  handshake_->connector->onStreamConnect(status, stream.lastError());
}

void Session::onStreamSecuring(Stream& stream) {
  if (legOf(stream) != &backend_ || !connecting()) return;
  handshake_->connector->onStreamSecuring();
}

void Session::onConnected() {
  recordConnect(true);
  backend_.established = true;
  backend_.stream->tcp().setNoDelay();
  sendUpgradeRequest();
  setState(State::AwaitingResponse);
  arm(HandshakeTimer, static_cast<uint64_t>(pool_->handshake_timeout.count()));
  backend_.stream->startRead();
}

} // namespace wsgate::proxy
