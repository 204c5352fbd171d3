#include "proxy/balancer/connector.h"

#include "proxy/transport/address.h"

namespace wsgate::proxy {

const char* toString(ConnectPhase phase) {
  switch (phase) {
  case ConnectPhase::Idle:
    return "idle";
  case ConnectPhase::Resolving:
    return "resolving";
  case ConnectPhase::Connecting:
    return "connecting";
  case ConnectPhase::TlsHandshake:
    return "tls_handshake";
  case ConnectPhase::Connected:
    return "connected";
  }
  return "unknown";
}

BackendConnector::~BackendConnector() {
  if (destroyed_ != nullptr) *destroyed_ = true;
  TimerWheel::disarm(timer_);
  // lookup_'s destructor detaches a lookup in flight: its answer is dropped.
}

void BackendConnector::start(uint64_t timeout_ms) {
  timeout_ms_ = timeout_ms;
  next();
}

void BackendConnector::cancel() {
  TimerWheel::disarm(timer_);
  lookup_.reset();
  phase_ = ConnectPhase::Idle;
}

void BackendConnector::setPhase(ConnectPhase phase) {
  phase_ = phase;
  owner_.onConnectPhase(phase);
}

void BackendConnector::next() {
  const ConnectTarget target = owner_.nextTarget();
  if (target.backend == nullptr) return; // the owner has answered; `this` may be gone
  backend_ = target.backend;
  if (wheel_ != nullptr && timeout_ms_ != 0) wheel_->arm(timer_, owner_.nowMs() + timeout_ms_);
  if (target.address != nullptr) {
    attempt(target.address);
    return;
  }
  sockaddr_storage address{};
  if (literalSockaddr(backend_->address, address)) {
    attempt(reinterpret_cast<const sockaddr*>(&address));
    return;
  }
  setPhase(ConnectPhase::Resolving);
  const config::Address& at = backend_->address;
  if (const int rc = lookup_.start(loop_, at.host, at.port, *this); rc != 0) {
    fail(ConnectFailure::Resolve, "DNS: cannot resolve " + at.host + ": " + uv_strerror(rc));
  }
}

void BackendConnector::onLookup(int status, const addrinfo* result) {
  if (phase_ != ConnectPhase::Resolving) return; // cannot happen: detached before
  if (status != 0 || result == nullptr) {
    fail(ConnectFailure::Resolve, "DNS: cannot resolve " + backend_->address.host + ": " +
                                      (status != 0 ? uv_strerror(status) : "no address"));
    return;
  }
  attempt(result->ai_addr);
}

void BackendConnector::attempt(const sockaddr* address) {
  setPhase(ConnectPhase::Connecting);
  std::string error;
  Stream* stream = owner_.openStream(address, error);
  if (stream == nullptr) {
    fail(ConnectFailure::NoStream, error);
    return;
  }
  if (const int rc = stream->tcp().connect(address); rc != 0) {
    fail(ConnectFailure::Connect, uv_strerror(rc));
  }
}

void BackendConnector::onStreamSecuring() {
  if (phase_ == ConnectPhase::Connecting) setPhase(ConnectPhase::TlsHandshake);
}

void BackendConnector::onStreamConnect(int status, const std::string& detail) {
  if (phase_ != ConnectPhase::Connecting && phase_ != ConnectPhase::TlsHandshake) return;
  if (status != 0) {
    fail(ConnectFailure::Connect, detail.empty() ? std::string(uv_strerror(status)) : detail);
    return;
  }
  TimerWheel::disarm(timer_);
  phase_ = ConnectPhase::Connected;
  owner_.onConnected();
}

void BackendConnector::onTimer(int /*purpose*/) {
  if (phase_ == ConnectPhase::Resolving) {
    fail(ConnectFailure::Timeout,
         "connect timeout (no DNS answer for " + backend_->address.host + ")");
    return;
  }
  fail(ConnectFailure::Timeout, "connect timeout");
}

// The attempt is over: nothing of it may reach the owner again. Then the next target.
void BackendConnector::fail(ConnectFailure failure, const std::string& error) {
  cancel();
  bool destroyed = false;
  destroyed_ = &destroyed;
  owner_.onConnectFailed(failure, error);
  if (destroyed) return;
  destroyed_ = nullptr;
  next();
}

} // namespace wsgate::proxy
