// The access log line a session writes when it ends, and the names of its terminations.
#include "proxy/core/logger.h"
#include "proxy/session/session.h"

namespace wsgate::proxy {

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
