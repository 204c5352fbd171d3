// Heartbeats (wsgate's own pings and their pongs), the idle, lifetime and close timers, the
// client's message rate, and drain.
#include "common/ws/close.h"
#include "common/ws/frame_writer.h"
#include "proxy/session/session.h"

#include <string>

namespace wsgate::proxy {

namespace {

// wsgate's pings carry this tag and a counter, so their pongs are told apart from the
// application's.
constexpr std::string_view kPingTag = "wsgate-hb:";

} // namespace

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
  if (to_client_.hasPending() || client_.closeSent()) return;
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
    onPongTimeout();
    return;
  case IdleTimer:
    onIdleTimeout(t);
    return;
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
    onCloseTimeout();
    return;
  default:
    return;
  }
}

void Session::onPongTimeout() {
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
}

void Session::onIdleTimeout(uint64_t t) {
  const auto idle = static_cast<uint64_t>(policy_->idle_timeout.count());
  if (state_ != State::Open) return;
  if (t - last_activity_ms_ < idle) {
    arm(IdleTimer, last_activity_ms_ + idle - t);
    return;
  }
  closeBoth(Termination::IdleTimeout, ws::close_code::kGoingAway, "idle timeout",
            ws::close_code::kGoingAway, "idle timeout");
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
} // namespace wsgate::proxy
