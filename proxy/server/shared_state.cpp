#include "proxy/server/shared_state.h"

namespace wsgate::proxy {

SharedState::SharedState(std::shared_ptr<const config::Config> config) {
  backend_health.setObserver([this](std::string_view pool, std::string_view backend, bool up) {
    balancers.setUp(pool, backend, up);
  });
  if (config) applyBalancers(*config);
  config_.store(std::move(config));
}

void SharedState::applyBalancers(const config::Config& config) {
  balancers.applyConfig(config, [this](std::string_view pool, std::string_view backend) {
    return backend_health.isUp(pool, backend);
  });
}

void SharedState::setConfig(std::shared_ptr<const config::Config> config,
                            std::shared_ptr<const TlsContexts> tls) {
  if (config) applyBalancers(*config);
  tls_.store(std::move(tls));
  config_.store(std::move(config));
}

bool SharedState::admitConnection(uint64_t max_connections) {
  uint64_t current = active_.load(std::memory_order_relaxed);
  do {
    if (current >= max_connections) return false;
  } while (!active_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed));
  return true;
}

} // namespace wsgate::proxy
