// What a session reports to its worker's metrics: connection start and end, handshake
// outcome, backend connects, closes and violations. Label values are bounded sets.
#include "common/ws/close.h"
#include "proxy/core/logger.h"
#include "proxy/metrics/backend_health.h"
#include "proxy/metrics/names.h"
#include "proxy/session/session.h"

#include <string>

namespace wsgate::proxy {

const char* Session::rejectReason(int status) {
  return metrics::rejectReason(status);
}

void Session::recordAccepted() {
  metrics::WorkerStats& stats = host_.stats();
  const std::string& listener = config_->listeners[listener_index_].name;
  std::lock_guard lock(stats.mutex);
  ++stats.accepted[listener];
  ++stats.active[listener];
}

void Session::recordConnect(bool ok) {
  metrics::WorkerStats& stats = host_.stats();
  const double seconds = static_cast<double>(now() - connect_started_ms_) / 1000.0;
  if (!ok) {
    host_.backendHealth().recordConnect(*pool_, metrics::backendLabel(*picked_), false,
                                        handshake_ ? handshake_->last_error : "");
  }
  std::lock_guard lock(stats.mutex);
  if (ok) {
    stats.connect_duration.try_emplace(pool_->name, metrics::kLatencyBounds)
        .first->second.observe(seconds);
  } else {
    ++stats.connect_failures[metrics::key({pool_->name, metrics::backendLabel(*picked_)})];
  }
  if (!ok) logConnectFailure();
}

void Session::recordBackendVerdict(bool ok, std::string_view reason) {
  if (picked_ == nullptr) return;
  host_.backendHealth().recordConnect(*pool_, metrics::backendLabel(*picked_), ok, reason);
}

// One warning per second per worker at most: a backend that is down fails every session's
// connect, and the access log has each one.
void Session::logConnectFailure() {
  thread_local uint64_t last_logged_ms = 0;
  thread_local uint64_t suppressed = 0;
  const uint64_t t = now();
  if (last_logged_ms != 0 && t - last_logged_ms < 1000) {
    ++suppressed;
    return;
  }
  last_logged_ms = t;
  Logger& logger = Logger::instance();
  logger.write(logger.line(log::Level::Warn, "backend_connect_failed")
                   .str("pool", pool_->name)
                   .str("backend", metrics::backendLabel(*picked_))
                   .str("error", handshake_ ? handshake_->last_error : std::string())
                   .unum("worker", host_.index())
                   .unum("suppressed", suppressed)
                   .finish());
  suppressed = 0;
}

// A handshake is counted by its status once: a 101 when the session opens (so a long session
// shows in wsgate_handshakes_total from its start, not from its end), any other answer when
// the connection ends.
void Session::recordOpened() {
  metrics::WorkerStats& stats = host_.stats();
  stats.handshake_duration.observe(static_cast<double>(now() - started_ms_) / 1000.0);
  std::lock_guard lock(stats.mutex);
  ++stats.handshakes[metrics::key({config_->listeners[listener_index_].name, "101"})];
  ++stats.sessions_active[metrics::key({route_->name, pool_->name})];
  ++stats.backend_active[metrics::key({pool_->name, metrics::backendLabel(*picked_)})];
}

void Session::recordViolation(const char* kind, bool client_offended) {
  metrics::WorkerStats& stats = host_.stats();
  std::lock_guard lock(stats.mutex);
  ++stats.violations[metrics::key({kind, client_offended ? "client" : "backend"})];
}

void Session::recordFinished() {
  metrics::WorkerStats& stats = host_.stats();
  const std::string& listener = config_->listeners[listener_index_].name;
  std::lock_guard lock(stats.mutex);
  --stats.active[listener];
  if (http_status_ != 0 && opened_ms_ == 0) {
    ++stats.handshakes[metrics::key({listener, std::to_string(http_status_)})];
  }
  if (http_status_ != 0 && http_status_ != 101) {
    ++stats.rejected[metrics::key({listener, rejectReason(http_status_)})];
  }
  if (opened_ms_ == 0) return;
  --stats.sessions_active[metrics::key({route_->name, pool_->name})];
  --stats.backend_active[metrics::key({pool_->name, metrics::backendLabel(*picked_)})];
  stats.session_duration.try_emplace(route_->name, metrics::kSessionBounds)
      .first->second.observe(static_cast<double>(now() - opened_ms_) / 1000.0);
}

// A leg's close is counted when its TCP connection is closed, not when the whole session
// ends: a client closed with 1009 shows at once, whatever the backend leg still waits for.
void Session::recordLegClosed(Leg& leg) {
  if (opened_ms_ == 0 || leg.close_counted || leg.close_code == 0) return;
  leg.close_counted = true;
  metrics::WorkerStats& stats = host_.stats();
  std::lock_guard lock(stats.mutex);
  ++stats.closes[metrics::key({leg.name, leg.closed_by, metrics::closeCodeLabel(leg.close_code)})];
}

} // namespace wsgate::proxy
