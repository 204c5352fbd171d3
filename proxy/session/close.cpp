// Close semantics: the close handshake on each leg, a peer that vanishes, a peer that breaks the
// rules (its close waits for the other peer's), and when each TCP connection is closed.
#include "common/ws/close.h"

#include "common/ws/frame_writer.h"
#include "common/ws/handshake.h"
#include "proxy/session/session.h"

#include <cstring>
#include <string>

namespace wsgate::proxy {

namespace {

// How long a close handshake may take.
constexpr uint64_t kCloseTimeoutMs = 5000;
// What the other peer may still send an offender before the offender's own close goes out
// (a backend's answers to the client's last valid messages), and how long that close is given
// to go out once the other peer's close timed out.
constexpr uint64_t kOwedBytes = uint64_t{1} << 20;
constexpr uint64_t kOwedLingerMs = 1000;

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

void Session::abortLeg(Leg& leg) {
  if (!leg.stream || leg.stream->closing()) return;
  if (leg.close_code == 0) {
    leg.recordClose(ws::close_code::kAbnormal, "connection closed by wsgate", "proxy");
  }
  leg.advance(LegEvent::Closed);
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
  if (leg.state() != LegState::Shut) return false;
  const Leg& other = otherLeg(leg);
  return other.closeDone() || !other.stream || other.stream->closing();
}

void Session::checkLegDone(Leg& leg) {
  if (!leg.stream || leg.stream->closing() || !legFinished(leg)) return;
  const bool server_side = &leg == &client_ && leg.state() == LegState::CloseExchanged;
  if (leg.readEnded() || server_side) {
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
  const bool answers_ours = from.closeSent() && std::strcmp(from.closed_by, "proxy") == 0;
  from.advance(LegEvent::CloseReceived);
  from.recordClose(code, reason, from.name);
  if (answers_ours || to.closeSent() || to.failed()) {
    onLegDone(from);
    return false; // absorbed: it goes no further
  }
  to.recordClose(code, reason, from.name);
  to.advance(LegEvent::CloseSent); // the frame is forwarded with the rest of the chunk
  if (termination_ == Termination::None) termination_ = Termination::Normal;
  if (state_ == State::Open) {
    setState(State::Closing);
    arm(CloseTimer, kCloseTimeoutMs);
  }
  return true;
}

void Session::sendClose(Relay& toward, uint16_t code, std::string_view reason) {
  Leg& to = toward.to();
  if (!to.stream || to.stream->closing() || to.closeSent() || to.failed()) return;
  to.recordClose(code, reason, "proxy");
  if (!toward.atBoundary() && toward.from().readEnded()) {
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
  relay.to().advance(LegEvent::CloseSent);
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
  if (!owed_ && !offender.closeSent()) {
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

void Session::onPolicyStop(Relay& relay) {
  violation_ = "rate_limited";
  recordViolation(violation_, true);
  failPeer(relay, Termination::RateLimited, ws::close_code::kRateLimited,
           "message rate limit exceeded", ws::close_code::kGoingAway,
           "client exceeded its message rate limit", false);
}
// The peer on `leg` ended its sending (EOF) or its connection broke, while open or closing.
// `close_received`: its close frame came before.
void Session::onPeerEnd(Leg& leg, bool close_received) {
  if (!close_received) {
    // The peer stopped without a close frame: 1006 on its leg, a close with a reason on the
    // other.
    leg.recordClose(ws::close_code::kAbnormal, "connection lost without a close frame", leg.name);
    if (owed_ && &owed_->toward->from() == &leg) {
      // The peer an offender waited on is gone: the offender gets its own close now.
      abortLeg(leg);
      sendOwedClose();
      checkLegDone(client_);
      checkLegDone(backend_);
      return;
    }
    if (&leg == &client_ && !leg.failed()) {
      // A half-close: the client still reads. It gets what the backend sends until the
      // backend's close completes, then its TCP is closed.
      closeBoth(Termination::ClientLost, 0, "", ws::close_code::kGoingAway,
                "client connection lost");
      return;
    }
    abortLeg(leg);
    if (&leg == &client_) {
      closeBoth(Termination::ClientLost, ws::close_code::kAbnormal, "", ws::close_code::kGoingAway,
                "client connection lost");
    } else {
      closeBoth(Termination::BackendLost, policy_->backend_lost_close_code,
                "backend connection lost", ws::close_code::kAbnormal, "");
    }
    return;
  }
  if (leg.failed()) abortLeg(leg);
  onLegDone(leg);
  checkLegDone(client_);
  checkLegDone(backend_);
}

void Session::countOwedBytes(Relay& relay, std::size_t length) {
  if (!owed_ || &relay != owed_->toward) return;
  // What the other peer sends the offender before its close completes is bounded.
  owed_->bytes += length;
  if (owed_->bytes > kOwedBytes) sendOwedClose();
}

void Session::onCloseTimeout() {
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
}

} // namespace wsgate::proxy
