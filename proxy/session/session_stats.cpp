// What a session reports to its worker's metrics: connection start and end, handshake
// outcome, backend connects, closes and violations. Label values are bounded sets.
#include "common/ws/close.h"
#include "proxy/metrics/names.h"
#include "proxy/server/worker.h"
#include "proxy/session/session.h"

#include <string>

namespace wsgate::proxy {

namespace {

// Close codes as metric labels: the registered ones and wsgate's own as numbers, the rest as
// their class, so a peer cannot create unbounded series.
std::string closeCodeLabel(uint16_t code) {
  if ((code >= 1000 && code <= 1015) || (code >= 4001 && code <= 4003)) {
    return std::to_string(code);
  }
  if (code >= 4000 && code <= 4999) return "4xxx";
  if (code >= 3000 && code <= 3999) return "3xxx";
  return "other";
}

} // namespace

const char* Session::rejectReason(int status) {
  switch (status) {
  case 400:
    return "bad_request";
  case 403:
    return "origin_not_allowed";
  case 404:
    return "no_route";
  case 405:
    return "method_not_allowed";
  case 408:
    return "handshake_timeout";
  case 414:
  case 431:
    return "headers_too_large";
  case 426:
    return "unsupported_version";
  case 429:
    return "per_ip_limit";
  case 502:
    return "backend_error";
  case 503:
    return "unavailable";
  case 504:
    return "backend_timeout";
  default:
    return "other";
  }
}

void Session::recordAccepted() {
  metrics::WorkerStats& stats = worker_.stats();
  const std::string& listener = config_->listeners[listener_index_].name;
  std::lock_guard lock(stats.mutex);
  ++stats.accepted[listener];
  ++stats.active[listener];
}

void Session::recordConnect(bool ok) {
  metrics::WorkerStats& stats = worker_.stats();
  const double seconds = static_cast<double>(now() - connect_started_ms_) / 1000.0;
  worker_.shared().backend_health.recordConnect(
      *pool_, metrics::backendLabel(pool_->backends[handshake_->backend_index]), ok);
  std::lock_guard lock(stats.mutex);
  if (ok) {
    stats.connect_duration.try_emplace(pool_->name, metrics::kLatencyBounds)
        .first->second.observe(seconds);
  } else {
    ++stats.connect_failures[metrics::key({pool_->name, upstream_addr_})];
  }
}

void Session::recordOpened() {
  metrics::WorkerStats& stats = worker_.stats();
  stats.handshake_duration.observe(static_cast<double>(now() - started_ms_) / 1000.0);
  std::lock_guard lock(stats.mutex);
  ++stats.sessions_active[metrics::key({route_->name, pool_->name})];
  ++stats.backend_active[metrics::key({pool_->name, upstream_addr_})];
}

void Session::recordViolation(const char* kind, bool client_offended) {
  metrics::WorkerStats& stats = worker_.stats();
  std::lock_guard lock(stats.mutex);
  ++stats.violations[metrics::key({kind, client_offended ? "client" : "backend"})];
}

void Session::recordFinished() {
  metrics::WorkerStats& stats = worker_.stats();
  const std::string& listener = config_->listeners[listener_index_].name;
  std::lock_guard lock(stats.mutex);
  --stats.active[listener];
  if (http_status_ != 0) {
    ++stats.handshakes[metrics::key({listener, std::to_string(http_status_)})];
  }
  if (http_status_ != 0 && http_status_ != 101) {
    ++stats.rejected[metrics::key({listener, rejectReason(http_status_)})];
  }
  if (opened_ms_ == 0) return;
  --stats.sessions_active[metrics::key({route_->name, pool_->name})];
  --stats.backend_active[metrics::key({pool_->name, upstream_addr_})];
  stats.session_duration.try_emplace(route_->name, metrics::kSessionBounds)
      .first->second.observe(static_cast<double>(now() - opened_ms_) / 1000.0);
  for (const Leg* leg : {&client_, &backend_}) {
    if (leg->close_code == 0) continue;
    ++stats.closes[metrics::key({leg->name, leg->closed_by, closeCodeLabel(leg->close_code)})];
  }
}

} // namespace wsgate::proxy
