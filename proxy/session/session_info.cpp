// A session as the admin endpoint /connections shows it.
#include "proxy/session/session.h"

namespace wsgate::proxy {

namespace {

// A leg's close progress; "none" while it is not connected yet (the backend's until its connect
// succeeds).
const char* legStateOf(const Leg& leg) {
  if (!leg.established && leg.state() == LegState::Open) return "none";
  return toString(leg.state());
}

} // namespace

metrics::ConnectionInfo Session::describe() const {
  metrics::ConnectionInfo info;
  info.id = id_;
  info.worker = host_.index();
  info.listener = config_->listeners[listener_index_].name;
  if (route_ != nullptr) info.route = route_->name;
  if (pool_ != nullptr) info.pool = pool_->name;
  info.client_addr = client_addr_;
  info.upstream_addr = upstream_addr_;
  if (entry_) info.backend = entry_->identity();
  info.path = path_;
  info.subprotocol = protocol_ ? *protocol_ : std::string();
  info.state = toString(state_);
  info.client_leg = legStateOf(client_);
  info.backend_leg = legStateOf(backend_);
  info.age_s = static_cast<double>(now() - started_ms_) / 1000.0;
  // Bytes on the wire, handshake included.
  info.bytes_from_client = client_.bytes_in;
  info.bytes_to_client = client_.stream ? client_.stream->bytesWritten() : 0;
  info.bytes_from_backend = backend_.bytes_in;
  info.bytes_to_backend = backend_.stream ? backend_.stream->bytesWritten() : 0;
  info.messages_from_client = client_.messages_in;
  info.messages_to_client = backend_.messages_in;
  info.last_ping_rtt_ms = last_rtt_ms_;
  return info;
}

} // namespace wsgate::proxy
