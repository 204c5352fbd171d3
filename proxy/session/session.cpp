#include "proxy/session/session.h"

#include "common/ws/close.h"
#include "proxy/core/logger.h"

#include <string>

namespace wsgate::proxy {

namespace {

// Writes queued toward a peer beyond this stop reading the other peer; reading resumes below the
// low watermark. Bounds what a slow reader makes wsgate hold per direction.
constexpr std::size_t kHighWatermark = std::size_t{256} * 1024;
constexpr std::size_t kLowWatermark = std::size_t{64} * 1024;

} // namespace

const char* Session::toString(State state) {
  switch (state) {
  case State::ReadingRequest:
    return "reading_request";
  case State::Resolving:
    return "resolving";
  case State::Connecting:
    return "connecting";
  case State::TlsHandshake:
    return "tls_handshake";
  case State::AwaitingResponse:
    return "awaiting_response";
  case State::Open:
    return "open";
  case State::Closing:
    return "closing";
  case State::Rejecting:
    return "rejecting";
  case State::Closed:
    return "closed";
  }
  return "unknown";
}

Session::Session(SessionHost& host, std::size_t listener_index,
                 std::shared_ptr<const config::Config> config)
    : host_(host), listener_index_(listener_index), config_(std::move(config)),
      id_(host.nextConnectionId()), client_("client"), backend_("backend"),
      to_backend_(*this, client_, backend_, true, host.stats()),
      to_client_(*this, backend_, client_, false, host.stats()) {
  for (TimerEntry& timer : timers_)
    timer.owner = this;
  started_ms_ = now();
}

Session::~Session() {
  for (TimerEntry& timer : timers_)
    TimerWheel::disarm(timer);
}

uint64_t Session::now() const {
  return host_.nowMs();
}

void Session::arm(Timer timer, uint64_t delay_ms) {
  TimerEntry& entry = timers_[entryOf(timer)];
  entry.purpose = timer;
  host_.wheel().arm(entry, now() + delay_ms);
}

void Session::disarm(Timer timer) {
  TimerEntry& entry = timers_[entryOf(timer)];
  if (entry.purpose == timer) TimerWheel::disarm(entry);
}

bool Session::armed(Timer timer) const {
  const TimerEntry& entry = timers_[entryOf(timer)];
  return entry.armed() && entry.purpose == timer;
}

void Session::setState(State state) {
  if (state_ == State::Closed) return;
  state_ = state;
}

std::string Session::clientIp() const {
  std::string ip = client_addr_.substr(0, client_addr_.rfind(':'));
  if (ip.starts_with('[')) ip = ip.substr(1, ip.size() - 2);
  return ip;
}

Leg* Session::legOf(Stream& stream) {
  if (client_.stream && &stream == client_.stream.get()) return &client_;
  if (backend_.stream && &stream == backend_.stream.get()) return &backend_;
  return nullptr; // a retired backend attempt
}

void Session::accept(const AcceptedSocket& from, bool over_capacity) {
  client_.stream = host_.clientStream(*config_, listener_index_, *this);
  ++open_handles_;
  counted_ = !over_capacity;
  if (client_.stream->tcp().accept(from) != 0) {
    termination_ = Termination::ClientAborted;
    setState(State::Closed);
    client_.stream->close();
    return;
  }
  client_.established = true;
  recordAccepted();
  client_.stream->tcp().setNoDelay();
  client_addr_ = client_.stream->peerAddress();
  if (over_capacity) {
    reject(503, "wsgate is at server.max_connections; retry later", Termination::HandshakeRejected,
           {{"Retry-After", "1"}});
    return;
  }
  handshake_ = std::make_unique<Handshake>();
  arm(HandshakeTimer, static_cast<uint64_t>(config_->defaultPolicy().handshake_timeout.count()));
  client_.stream->startRead();
}

void Session::onStreamData(Stream& stream, Block* block, std::size_t length) {
  Leg* leg = legOf(stream);
  if (leg == nullptr) return;
  leg->bytes_in += length;
  last_activity_ms_ = now();
  const std::span<const uint8_t> bytes(block->data.data(), length);
  switch (state_) {
  case State::ReadingRequest:
    onRequestData(bytes);
    return;
  case State::Resolving:
  case State::Connecting:
  case State::TlsHandshake:
  case State::AwaitingResponse:
    if (leg == &client_) {
      onEarlyClientData(bytes);
    } else if (state_ == State::AwaitingResponse) {
      onResponseData(bytes);
    }
    return;
  case State::Open:
  case State::Closing:
    if (leg == &client_) {
      last_client_rx_ms_ = last_activity_ms_;
      relayData(to_backend_, client_, backend_, block, bytes.data(), length);
    } else {
      relayData(to_client_, backend_, client_, block, bytes.data(), length);
    }
    return;
  default:
    return; // Rejecting, Closed: nothing to read (a rejected client is drained)
  }
}

void Session::relayData(Relay& relay, Leg& from, Leg& to, Block* block, const uint8_t* data,
                        std::size_t length) {
  // After a violation the peer's bytes are read and dropped until its connection ends.
  if (relay.parser().error() == ws::ParseError::None) relay.onData(block, data, length);
  // Backpressure: a peer that does not read stops wsgate reading the other peer.
  if (to.stream && !to.stream->closing() && to.stream->queuedBytes() > kHighWatermark &&
      from.stream && from.stream->reading()) {
    from.stream->stopRead();
  }
  countOwedBytes(relay, length);
  checkLegDone(client_);
  checkLegDone(backend_);
}

void Session::onStreamDrained(Stream& stream) {
  Leg* leg = legOf(stream);
  if (leg == nullptr) return;
  if (state_ == State::Rejecting) return;
  Leg& other = otherLeg(*leg);
  if (stream.queuedBytes() < kLowWatermark && other.stream && !other.stream->closing() &&
      !other.stream->reading() && !other.readEnded() &&
      (state_ == State::Open || state_ == State::Closing)) {
    other.stream->startRead();
  }
  checkLegDone(*leg);
}

void Session::onStreamEnd(Stream& stream, int status) {
  Leg* leg = legOf(stream);
  if (leg == nullptr) return;
  const bool had_close = leg->closeReceived(); // before the FIN: a close frame came first
  leg->advance(LegEvent::PeerShut);
  if (status != UV_EOF) leg->advance(LegEvent::Closed);
  if (Logger::instance().enabled(log::Level::Debug)) {
    Logger& logger = Logger::instance();
    logger.write(logger.line(log::Level::Debug, "connection_end")
                     .unum("conn_id", id_)
                     .str("leg", leg->name)
                     .str("status", uv_err_name(status))
                     .finish());
  }
  switch (state_) {
  case State::ReadingRequest:
  case State::Resolving:
  case State::Connecting:
  case State::TlsHandshake:
    if (leg == &client_) {
      termination_ = Termination::ClientAborted;
      if (!error_ && !stream.lastError().empty()) {
        error_ = std::make_unique<std::string>(stream.lastError()); // e.g. a TLS failure
      }
      abort();
    }
    return;
  case State::AwaitingResponse:
    if (leg == &client_) {
      termination_ = Termination::ClientAborted;
      abort();
    } else {
      reject(502, "the backend closed the connection before answering the upgrade",
             Termination::BackendRejected);
    }
    return;
  case State::Rejecting:
    stream.close();
    return;
  case State::Open:
  case State::Closing:
    break;
  case State::Closed:
    stream.close();
    return;
  }
  onPeerEnd(*leg, had_close);
}

void Session::onStreamClosed(Stream& stream) {
  for (auto it = retired_.begin(); it != retired_.end(); ++it) {
    if (it->get() == &stream) {
      retired_.erase(it);
      --open_handles_;
      if (open_handles_ == 0) finish();
      return;
    }
  }
  Leg* leg = legOf(stream);
  if (leg != nullptr) {
    leg->advance(LegEvent::Closed);
    recordLegClosed(*leg);
  }
  --open_handles_;
  if (open_handles_ == 0) {
    finish();
    return;
  }
  // An HTTP error lingers on the client (until its FIN or kLingerMs) whatever the backend's
  // stream does meanwhile; closing the client now could reset the answer before it is read.
  if (state_ == State::Rejecting && leg == &backend_) return;
  // One connection is gone; if the other has nothing left to do, close it too.
  if (state_ == State::Rejecting || state_ == State::Closed) {
    abort();
    return;
  }
  if (leg != nullptr) {
    onLegDone(*leg);
    checkLegDone(otherLeg(*leg));
  }
}

void Session::finish() {
  setState(State::Closed);
  lease_.reset(); // the backend's live count drops before the access line is written
  if (client_.established) recordFinished();
  writeAccessLog();
  if (counted_) host_.releaseConnection();
  if (ip_counted_) host_.admission().releaseIp(clientIp());
  counted_ = false;
  ip_counted_ = false;
  host_.sessionEnded(*this); // deletes this
}

} // namespace wsgate::proxy
