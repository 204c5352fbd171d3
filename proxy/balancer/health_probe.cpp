#include "proxy/balancer/health_probe.h"

#include "common/ws/handshake.h"
#include "common/ws/upgrade_probe.h"
#include "proxy/transport/tcp_stream.h"
#include "proxy/transport/tls_stream.h"

#include <cstring>

namespace wsgate::proxy {

HealthProbe::HealthProbe(uv_loop_t* loop, BufferPool& pool, HealthProbeOwner& owner,
                         ProbeTarget target, uint64_t timeout_ms)
    : loop_(loop), pool_(pool), owner_(owner), target_(std::move(target)),
      deadline_ms_(uv_now(loop) + timeout_ms),
      connector_(loop, nullptr, static_cast<ConnectorOwner&>(*this)) {}

HealthProbe* HealthProbe::create(uv_loop_t* loop, BufferPool& pool, HealthProbeOwner& owner,
                                 ProbeTarget target, uint64_t timeout_ms) {
  return new HealthProbe(loop, pool, owner, std::move(target), timeout_ms);
}

void HealthProbe::begin() {
  connector_.start(0); // expire() is the deadline
}

ConnectTarget HealthProbe::nextTarget() {
  if (!targeted_) {
    targeted_ = true;
    const sockaddr* where =
        target_.where ? reinterpret_cast<const sockaddr*>(&*target_.where) : nullptr;
    return {&target_.backend, where};
  }
  // The one backend could not be reached.
  verdict(false, connect_error_);
  closeStream(); // may delete this
  return {};
}

Stream* HealthProbe::openStream(const sockaddr* /*address*/, std::string& error) {
  if (!target_.backend.tls) {
    stream_ = std::make_unique<TcpStream>(loop_, pool_, *this);
  } else if (target_.tls) {
    stream_ =
        TlsStream::client(loop_, pool_, *this, target_.tls, target_.backend, target_.id, error);
  } else {
    error = "no TLS context for the backend";
  }
  return stream_.get();
}

void HealthProbe::onConnectPhase(ConnectPhase phase) {
  state_ = phase == ConnectPhase::Resolving ? State::Resolving : State::Connecting;
}

void HealthProbe::onConnectFailed(ConnectFailure failure, const std::string& error) {
  switch (failure) {
  case ConnectFailure::Connect:
    connect_error_ = "connect: " + error;
    return;
  case ConnectFailure::Timeout:
    connect_error_ = "timeout";
    return;
  default:
    connect_error_ = error;
    return;
  }
}

void HealthProbe::onStreamConnect(Stream& stream, int status) {
  if (state_ != State::Connecting) return;
  connector_.onStreamConnect(status, stream.lastError());
}

void HealthProbe::onConnected() {
  if (!target_.websocket) {
    verdict(true, "");
    closeStream();
    return;
  }
  key_ = ws::generateKey();
  stream_->writeCopy(ws::buildProbeRequest(target_.path, target_.host, key_));
  state_ = State::Awaiting;
  stream_->startRead();
}

void HealthProbe::onStreamData(Stream&, Block* block, std::size_t length) {
  std::span<const uint8_t> bytes(block->data.data(), length);
  if (state_ == State::Lingering) {
    // Anything the backend sends after the 101 ends the wait: its close frame (0x88) or a
    // message the probe does not want.
    closeStream();
    return;
  }
  if (state_ != State::Awaiting) return;
  const http::ParseResult result = response_.feed(bytes);
  if (result.status == http::ParseStatus::NeedMore) return;
  if (result.status == http::ParseStatus::Error) {
    verdict(false, std::string("malformed answer: ") + response_.error().reason);
    closeStream();
    return;
  }
  const ws::ProbeVerdict judged = ws::judgeProbeResponse(response_.response(), key_);
  verdict(judged.healthy, judged.reason);
  if (!judged.healthy) {
    closeStream();
    return;
  }
  stream_->writeCopy(ws::probeCloseFrame());
  state_ = State::Lingering;
  deadline_ms_ = uv_now(loop_) + kLingerMs;
  if (result.consumed < bytes.size()) closeStream(); // the backend's frames came with the 101
}

void HealthProbe::onStreamEnd(Stream&, int status) {
  if (state_ == State::Awaiting) {
    verdict(false, status == UV_EOF ? std::string("connection closed before an answer")
                                    : std::string("read: ") + uv_strerror(status));
  }
  closeStream();
}

void HealthProbe::expire(uint64_t now_ms) {
  if (now_ms < deadline_ms_ || state_ == State::Closed) return;
  if (!judged_) verdict(false, "timeout");
  closeStream();
}

void HealthProbe::cancel() {
  cancelled_ = true;
  judged_ = true;
  closeStream();
}

void HealthProbe::verdict(bool healthy, const std::string& reason) {
  if (judged_) return;
  judged_ = true;
  owner_.onProbeVerdict(*this, healthy, reason);
}

void HealthProbe::closeStream() {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  connector_.cancel();
  if (stream_ && !stream_->closing()) {
    stream_->close(); // onStreamClosed ends the probe
    return;
  }
  if (!stream_) {
    owner_.onProbeGone(*this);
    delete this;
  }
}

void HealthProbe::onStreamClosed(Stream&) {
  owner_.onProbeGone(*this);
  delete this;
}

} // namespace wsgate::proxy
