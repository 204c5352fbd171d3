#include "proxy/session/session.h"

#include "common/ws/close.h"
#include "common/ws/frame_writer.h"
#include "common/ws/handshake.h"
#include "proxy/core/logger.h"

#include <cstring>
#include <string>

namespace wsgate::proxy {

namespace {

// Writes queued toward a peer beyond this stop reading the other peer; reading resumes below the
// low watermark. Bounds what a slow reader makes wsgate hold per direction.
constexpr std::size_t kHighWatermark = std::size_t{256} * 1024;
constexpr std::size_t kLowWatermark = std::size_t{64} * 1024;
// How long a close handshake, or the lingering close after an HTTP error, may take.
constexpr uint64_t kCloseTimeoutMs = 5000;
// What the other peer may still send an offender before the offender's own close goes out
// (a backend's answers to the client's last valid messages), and how long that close is given
// to go out once the other peer's close timed out.
constexpr uint64_t kOwedBytes = uint64_t{1} << 20;
constexpr uint64_t kOwedLingerMs = 1000;
// wsgate's pings carry this tag and a counter, so their pongs are told apart from the
// application's.
constexpr std::string_view kPingTag = "wsgate-hb:";

Termination terminationFor(ws::ParseError error) {
  switch (error) {
  case ws::ParseError::InvalidUtf8:
  case ws::ParseError::InvalidCloseReason:
    return Termination::Utf8Invalid;
  case ws::ParseError::FrameTooBig:
    return Termination::FrameTooBig;
  case ws::ParseError::MessageTooBig:
    return Termination::MessageTooBig;
  case ws::ParseError::BinaryNotAllowed:
    return Termination::BinaryNotAllowed;
  default:
    return Termination::ProtocolError;
  }
}

} // namespace

const char* toString(Termination termination) {
  switch (termination) {
  case Termination::None:
    return "none";
  case Termination::Normal:
    return "normal";
  case Termination::HandshakeRejected:
    return "handshake_rejected";
  case Termination::HandshakeTimeout:
    return "handshake_timeout";
  case Termination::ClientAborted:
    return "client_aborted";
  case Termination::BackendUnreachable:
    return "backend_unreachable";
  case Termination::NoBackendAvailable:
    return "no_backend_available";
  case Termination::BackendTimeout:
    return "backend_timeout";
  case Termination::BackendRejected:
    return "backend_rejected";
  case Termination::ClientLost:
    return "client_lost";
  case Termination::BackendLost:
    return "backend_lost";
  case Termination::ProtocolError:
    return "protocol_error";
  case Termination::Utf8Invalid:
    return "utf8_invalid";
  case Termination::FrameTooBig:
    return "frame_too_big";
  case Termination::MessageTooBig:
    return "message_too_big";
  case Termination::BinaryNotAllowed:
    return "binary_not_allowed";
  case Termination::RateLimited:
    return "rate_limited";
  case Termination::Lifetime:
    return "lifetime";
  case Termination::TokenExpired:
    return "token_expired";
  case Termination::IdleTimeout:
    return "idle_timeout";
  case Termination::HeartbeatTimeout:
    return "heartbeat_timeout";
  case Termination::MidFrameViolation:
    return "mid_frame_violation";
  case Termination::Drain:
    return "drain";
  case Termination::CloseTimeout:
    return "close_timeout";
  case Termination::Shutdown:
    return "shutdown";
  case Termination::Rebalance:
    return "rebalance";
  }
  return "unknown";
}

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
  if (owed_ && &relay == owed_->toward) {
    // What the other peer sends the offender before its close completes is bounded.
    owed_->bytes += length;
    if (owed_->bytes > kOwedBytes) sendOwedClose();
  }
  checkLegDone(client_);
  checkLegDone(backend_);
}

void Session::onStreamDrained(Stream& stream) {
  Leg* leg = legOf(stream);
  if (leg == nullptr) return;
  if (state_ == State::Rejecting) return;
  Leg& other = otherLeg(*leg);
  if (stream.queuedBytes() < kLowWatermark && other.stream && !other.stream->closing() &&
      !other.stream->reading() && !other.read_ended &&
      (state_ == State::Open || state_ == State::Closing)) {
    other.stream->startRead();
  }
  checkLegDone(*leg);
}

void Session::onStreamEnd(Stream& stream, int status) {
  Leg* leg = legOf(stream);
  if (leg == nullptr) return;
  leg->read_ended = true;
  if (status != UV_EOF) leg->failed = true;
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
  if (!leg->close_received) {
    // The peer stopped without a close frame: 1006 on its leg, a close with a reason on the
    // other.
    leg->recordClose(ws::close_code::kAbnormal, "connection lost without a close frame", leg->name);
    if (owed_ && &owed_->toward->from() == leg) {
      // The peer an offender waited on is gone: the offender gets its own close now.
      abortLeg(*leg);
      sendOwedClose();
      checkLegDone(client_);
      checkLegDone(backend_);
      return;
    }
    if (leg == &client_ && !leg->failed) {
      // A half-close: the client still reads. It gets what the backend sends until the
      // backend's close completes, then its TCP is closed.
      closeBoth(Termination::ClientLost, 0, "", ws::close_code::kGoingAway,
                "client connection lost");
      return;
    }
    abortLeg(*leg);
    if (leg == &client_) {
      closeBoth(Termination::ClientLost, ws::close_code::kAbnormal, "", ws::close_code::kGoingAway,
                "client connection lost");
    } else {
      closeBoth(Termination::BackendLost, policy_->backend_lost_close_code,
                "backend connection lost", ws::close_code::kAbnormal, "");
    }
    return;
  }
  if (leg->failed) abortLeg(*leg);
  onLegDone(*leg);
  checkLegDone(client_);
  checkLegDone(backend_);
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
    leg->handle_closed = true;
    leg->failed = true;
    recordLegClosed(*leg);
  }
  --open_handles_;
  if (open_handles_ == 0) {
    finish();
    return;
  }
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

void Session::abortLeg(Leg& leg) {
  if (!leg.stream || leg.stream->closing()) return;
  if (leg.close_code == 0) {
    leg.recordClose(ws::close_code::kAbnormal, "connection closed by wsgate", "proxy");
  }
  leg.read_ended = true;
  leg.failed = true;
  recordLegClosed(leg);
  leg.stream->close();
}

void Session::abort() {
  setState(State::Closed);
  if (termination_ == Termination::None) termination_ = Termination::Shutdown;
  if (handshake_ && handshake_->connector) handshake_->connector->cancel(); // no more attempts
  abortLeg(client_);
  abortLeg(backend_);
  for (auto& retired : retired_)
    retired->close();
}

// True when wsgate may close `leg`'s TCP: its close is done, or its peer half-closed without a
// close frame and the other leg (whose frames it is still owed) is done.
bool Session::legFinished(Leg& leg) {
  if (leg.closeDone()) return true;
  if (!leg.read_ended || leg.close_received) return false;
  const Leg& other = otherLeg(leg);
  return other.closeDone() || !other.stream || other.stream->closing();
}

void Session::checkLegDone(Leg& leg) {
  if (!leg.stream || leg.stream->closing() || !legFinished(leg)) return;
  const bool server_side = &leg == &client_ && leg.close_received && leg.close_sent;
  if (leg.read_ended || server_side) {
    // The peer is gone or finished, or both close frames have crossed on the leg where wsgate
    // is the server, which closes the TCP connection first (RFC 6455 section 7.1.1): close
    // once what we owe the peer has been written (onStreamDrained comes back here).
    if (leg.stream->queuedBytes() == 0) {
      recordLegClosed(leg);
      leg.stream->close();
    }
    return;
  }
  // Toward the backend wsgate is the client: half-close and let the server close first (the
  // TIME_WAIT then stays on its side), or the close timer. The FIN also prompts servers that
  // wait for the client's.
  leg.stream->shutdownWrite();
  leg.stream->startRead();
}

// `leg`'s close completed (its close reply came, or its connection ended): an offender's close
// that waited for it goes out now.
void Session::onLegDone(Leg& leg) {
  if (owed_ && &owed_->toward->from() == &leg && leg.closeDone()) sendOwedClose();
}

bool Session::onCloseFrame(Relay& relay, uint16_t code, std::string_view reason) {
  Leg& from = relay.from();
  Leg& to = relay.to();
  // A close from a peer wsgate has already sent its own close to answers that one.
  const bool answers_ours = from.close_sent && std::strcmp(from.closed_by, "proxy") == 0;
  from.close_received = true;
  from.recordClose(code, reason, from.name);
  if (answers_ours || to.close_sent || to.failed) {
    onLegDone(from);
    return false; // absorbed: it goes no further
  }
  to.recordClose(code, reason, from.name);
  to.close_sent = true; // the frame is forwarded with the rest of the chunk
  if (termination_ == Termination::None) termination_ = Termination::Normal;
  if (state_ == State::Open) {
    setState(State::Closing);
    arm(CloseTimer, kCloseTimeoutMs);
  }
  return true;
}

void Session::sendClose(Relay& toward, uint16_t code, std::string_view reason) {
  Leg& to = toward.to();
  if (!to.stream || to.stream->closing() || to.close_sent || to.failed) return;
  to.recordClose(code, reason, "proxy");
  if (!toward.atBoundary() && toward.from().read_ended) {
    // The frame in flight toward this peer can never be finished: cut the connection.
    abortLeg(to);
    return;
  }
  // Toward the backend wsgate is a client, and a client's frames are masked.
  const bool to_backend = &to == &backend_;
  const ws::MaskKey mask = to_backend ? ws::randomMaskKey() : ws::MaskKey{};
  toward.inject(ws::ControlFrame::close(code, reason, to_backend ? &mask : nullptr), true);
}

void Session::sendOwedClose() {
  if (!owed_) return;
  const std::unique_ptr<OwedClose> owed = std::move(owed_);
  sendClose(*owed->toward, owed->code, owed->reason);
}

void Session::onInjected(Relay& relay, bool is_close) {
  if (!is_close) {
    ping_sent_ms_ = now();
    return;
  }
  relay.to().close_sent = true;
  relay.stopForwarding();
  // Inside the relay's chunk the close is not written yet; relayData() checks after the flush.
  if (!relay.inChunk()) checkLegDone(relay.to());
}

void Session::closeBoth(Termination termination, uint16_t client_code,
                        std::string_view client_reason, uint16_t backend_code,
                        std::string_view backend_reason) {
  if (termination_ == Termination::None || termination_ == Termination::Normal) {
    termination_ = termination;
  }
  // Code 0: nothing is sent on that leg (its close is owed later, or its peer sends no more).
  if (client_code == ws::close_code::kAbnormal) {
    abortLeg(client_);
  } else if (client_code != 0) {
    sendClose(to_client_, client_code, client_reason);
  }
  if (backend_code == ws::close_code::kAbnormal) {
    abortLeg(backend_);
  } else if (backend_code != 0) {
    sendClose(to_backend_, backend_code, backend_reason);
  }
  disarm(PingTimer);
  disarm(PongTimer);
  disarm(IdleTimer);
  disarm(LifetimeTimer);
  disarm(ExpiryTimer);
  if (state_ == State::Open) setState(State::Closing);
  if (!armed(CloseTimer)) arm(CloseTimer, kCloseTimeoutMs);
  checkLegDone(client_);
  checkLegDone(backend_);
}

// The peer on `offender` broke the rules. The other peer's close is sent now; the offender's
// waits until the other's close completes, so that what the other peer sent before its close
// reply (answers to the offender's last valid messages) reaches the offender first, bounded
// by kOwedBytes and the close timeout.
void Session::failPeer(Relay& from_offender, Termination termination, uint16_t code,
                       std::string_view reason, uint16_t other_code, std::string_view other_reason,
                       bool cut_other) {
  Leg& offender = from_offender.from();
  Leg& other = from_offender.to();
  offender.failing = true;
  from_offender.stopForwarding(); // nothing more from the offender is forwarded
  if (!owed_ && !offender.close_sent) {
    owed_ = std::make_unique<OwedClose>();
    owed_->toward = &relayToward(offender);
    owed_->code = code;
    owed_->reason.assign(reason);
  }
  const bool client_offended = &offender == &client_;
  const uint16_t code_to_other = cut_other ? ws::close_code::kAbnormal : other_code;
  closeBoth(termination, client_offended ? 0 : code_to_other, other_reason,
            client_offended ? code_to_other : 0, other_reason);
  onLegDone(other);
}

void Session::onViolation(Relay& relay, ws::ParseError error, bool mid_frame) {
  const bool client_offended = &relay == &to_backend_;
  violation_ = ws::kindOf(error);
  recordViolation(violation_, client_offended);
  const uint16_t code = ws::closeCodeFor(error);
  const char* reason = ws::reasonFor(error);
  const Termination termination =
      mid_frame ? Termination::MidFrameViolation : terminationFor(error);
  // The other peer is told what happened: a backend learns that its client went away, a client
  // that its backend failed (1014, bad gateway), whatever the violation. A frame partly
  // forwarded to it cannot be followed by a close frame: that leg is cut instead.
  const std::string why =
      std::string(client_offended ? "client sent a bad frame: " : "backend sent a bad frame: ") +
      reason;
  failPeer(relay, termination, code, reason,
           client_offended ? ws::close_code::kGoingAway : ws::close_code::kBadGateway, why,
           mid_frame);
}

bool Session::onClientMessageStart() {
  const uint64_t limit = policy_->max_messages_per_second;
  if (limit == 0) return true;
  const uint64_t window = now() / 1000;
  if (window != rate_window_) {
    rate_window_ = window;
    rate_count_ = 0;
  }
  return ++rate_count_ <= limit;
}

void Session::onPolicyStop(Relay& relay) {
  violation_ = "rate_limited";
  recordViolation(violation_, true);
  failPeer(relay, Termination::RateLimited, ws::close_code::kRateLimited,
           "message rate limit exceeded", ws::close_code::kGoingAway,
           "client exceeded its message rate limit", false);
}

bool Session::isOwnPong(std::span<const uint8_t> payload) {
  const std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
  if (!text.starts_with(kPingTag)) return false;
  if (awaiting_pong_ && text.substr(kPingTag.size()) == std::to_string(ping_seq_)) {
    awaiting_pong_ = false;
    last_rtt_ms_ = static_cast<double>(now() - ping_sent_ms_);
    host_.stats().pongs_received.add();
    host_.stats().ping_rtt.observe(last_rtt_ms_ / 1000.0);
    disarm(PongTimer);
    arm(PingTimer, static_cast<uint64_t>(policy_->ping_interval.count()));
  }
  return true;
}

void Session::sendPing() {
  if (to_client_.hasPending() || client_.close_sent) return;
  ++ping_seq_;
  host_.stats().pings_sent.add();
  const std::string payload = std::string(kPingTag) + std::to_string(ping_seq_);
  awaiting_pong_ = true;
  ping_sent_ms_ = now();
  to_client_.inject(
      ws::ControlFrame::make(
          ws::Opcode::Ping,
          std::span(reinterpret_cast<const uint8_t*>(payload.data()), payload.size())),
      false);
  arm(PongTimer, static_cast<uint64_t>(policy_->pong_timeout.count()));
}

void Session::onTimer(int purpose) {
  const uint64_t t = now();
  switch (purpose) {
  case HandshakeTimer:
    if (state_ == State::ReadingRequest) {
      reject(408, "the upgrade request was not complete within handshake_timeout",
             Termination::HandshakeTimeout);
    } else if (state_ == State::AwaitingResponse) {
      recordBackendVerdict(false, "no answer to an upgrade within handshake_timeout");
      reject(504, "the backend did not answer the upgrade within handshake_timeout",
             Termination::BackendTimeout);
    }
    return;
  case PingTimer: {
    const auto interval = static_cast<uint64_t>(policy_->ping_interval.count());
    if (state_ != State::Open) return;
    if (t - last_client_rx_ms_ < interval) {
      arm(PingTimer, last_client_rx_ms_ + interval - t); // the client spoke lately
      return;
    }
    sendPing();
    return;
  }
  case PongTimer:
    if (state_ != State::Open || !awaiting_pong_) return;
    if (last_client_rx_ms_ > ping_sent_ms_) {
      // Data arrived after the ping (the pong may wait behind a long frame): alive.
      awaiting_pong_ = false;
      arm(PingTimer, static_cast<uint64_t>(policy_->ping_interval.count()));
      return;
    }
    host_.stats().heartbeat_timeouts.add();
    client_.recordClose(ws::close_code::kAbnormal, "no pong within pong_timeout", "proxy");
    closeBoth(Termination::HeartbeatTimeout, ws::close_code::kAbnormal, "",
              ws::close_code::kGoingAway, "client heartbeat timeout");
    return;
  case IdleTimer: {
    const auto idle = static_cast<uint64_t>(policy_->idle_timeout.count());
    if (state_ != State::Open) return;
    if (t - last_activity_ms_ < idle) {
      arm(IdleTimer, last_activity_ms_ + idle - t);
      return;
    }
    closeBoth(Termination::IdleTimeout, ws::close_code::kGoingAway, "idle timeout",
              ws::close_code::kGoingAway, "idle timeout");
    return;
  }
  case ExpiryTimer:
    onTokenExpired();
    return;
  case LifetimeTimer:
    if (state_ != State::Open) return;
    violation_ = "lifetime";
    recordViolation(violation_, true);
    closeBoth(Termination::Lifetime, ws::close_code::kSessionExpired,
              "maximum session lifetime reached", ws::close_code::kGoingAway,
              "client session lifetime reached");
    return;
  case CloseTimer:
    if (owed_) {
      // The other peer did not finish its close in time: give up on it, and give the offender
      // its close code (or a cut, inside a frame) with a last short wait for it to go out.
      abortLeg(owed_->toward->from());
      sendOwedClose();
      arm(CloseTimer, kOwedLingerMs);
      checkLegDone(client_);
      checkLegDone(backend_);
      return;
    }
    if (state_ == State::Closing && termination_ == Termination::Normal) {
      termination_ = Termination::CloseTimeout;
    }
    abort();
    return;
  default:
    return;
  }
}

void Session::drain() {
  switch (state_) {
  case State::ReadingRequest:
  case State::Resolving:
  case State::Connecting:
  case State::TlsHandshake:
  case State::AwaitingResponse:
    reject(503, "wsgate is shutting down", Termination::Drain, {{"Retry-After", "1"}});
    return;
  case State::Open:
    closeBoth(Termination::Drain, ws::close_code::kGoingAway, "server shutting down",
              ws::close_code::kGoingAway, "proxy shutting down");
    return;
  default:
    return;
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

void Session::writeAccessLog() {
  Logger& logger = Logger::instance();
  if (!logger.accessEnabled()) return;
  const config::Listener& listener = config_->listeners[listener_index_];
  log::LogLine line = logger.accessLine();
  line.unum("conn_id", id_)
      .unum("worker", host_.index())
      .str("listener", listener.name)
      .str("route", route_ != nullptr ? route_->name : "")
      .str("pool", pool_ != nullptr ? pool_->name : "")
      .str("client_addr", client_addr_)
      .str("upstream_addr", upstream_addr_)
      .str("path", path_)
      .num("status", http_status_)
      .real("duration_s", static_cast<double>(now() - started_ms_) / 1000.0)
      .unum("bytes_from_client", client_.bytes_in)
      .unum("bytes_to_client", client_.stream ? client_.stream->bytesWritten() : 0)
      .unum("messages_from_client", client_.messages_in)
      .unum("messages_to_client", backend_.messages_in);
  if (protocol_) line.str("subprotocol", *protocol_);
  line.boolean("compression", compressed_); // permessage-deflate negotiated
  if (client_.close_code != 0) {
    line.num("client_close_code", client_.close_code)
        .str("client_close_reason", client_.closeReason())
        .str("client_closed_by", client_.closed_by);
  } else {
    line.null("client_close_code");
  }
  if (backend_.close_code != 0) {
    line.num("backend_close_code", backend_.close_code)
        .str("backend_close_reason", backend_.closeReason())
        .str("backend_closed_by", backend_.closed_by);
  } else {
    line.null("backend_close_code");
  }
  line.str("termination", proxy::toString(termination_));
  if (violation_ != nullptr) line.str("violation", violation_);
  if (error_) line.str("error", *error_);
  if (last_rtt_ms_ >= 0) {
    line.real("ping_rtt_ms", last_rtt_ms_, 1);
  } else {
    line.null("ping_rtt_ms");
  }
  logger.writeAccess(line.finish());
}

} // namespace wsgate::proxy
