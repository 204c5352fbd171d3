#pragma once

#include "common/config/config.h"
#include "proxy/balancer/pool_runtime.h"
#include "proxy/metrics/backend_health.h"
#include "proxy/policy/admission_state.h"
#include "proxy/transport/tls_context.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace wsgate::proxy {

// State every worker shares: the current configuration snapshot and the process-wide limits.
// Everything here is thread-safe; none of it is touched per frame.
class SharedState {
public:
  explicit SharedState(std::shared_ptr<const config::Config> config);

  std::shared_ptr<const config::Config> config() const { return config_.load(); }
  // The TLS contexts built from the config. setConfig stores them first, so a session that
  // read a config finds contexts at least as new (a listener's index never changes on reload).
  std::shared_ptr<const TlsContexts> tls() const { return tls_.load(); }
  // The pools' run-time backends follow the new config first (same identity, same state).
  void setConfig(std::shared_ptr<const config::Config> config,
                 std::shared_ptr<const TlsContexts> tls);

  // The keys and token files of the [auth.NAME] tables. Stored before the config that names
  // them (like the TLS contexts), so a session that read a config finds them.
  std::shared_ptr<const policy::AuthSet> auth() const { return admission.auth(); }
  void setAuth(std::shared_ptr<const policy::AuthSet> auth) { admission.setAuth(std::move(auth)); }

  // Counts a new client connection against server.max_connections; false when over it.
  bool admitConnection(uint64_t max_connections);
  void releaseConnection() { active_.fetch_sub(1, std::memory_order_relaxed); }
  uint64_t activeConnections() const { return active_.load(std::memory_order_relaxed); }

  uint64_t nextConnectionId() { return next_id_.fetch_add(1, std::memory_order_relaxed); }

  std::atomic<bool> draining{false};
  // Which backends are up: sessions record their connects, the main loop probes down ones.
  metrics::BackendHealth backend_health;
  // Every pool's backends as the balancers see them: live sessions over all workers, health,
  // weights, limits. Survives reloads.
  BalancerState balancers;
  // What the admission checks share: handshake rates, per-IP counts, the [auth.NAME] tables.
  policy::AdmissionState admission;

private:
  void applyBalancers(const config::Config& config);

  std::atomic<std::shared_ptr<const config::Config>> config_;
  std::atomic<std::shared_ptr<const TlsContexts>> tls_;
  std::atomic<uint64_t> active_{0};
  std::atomic<uint64_t> next_id_{1};
};

} // namespace wsgate::proxy
