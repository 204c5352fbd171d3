#include "proxy/balancer/backend_runtime.h"

#include "common/balance/hash.h"

#include <cctype>
#include <chrono>

namespace wsgate::proxy {

int64_t steadyNowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count() + 1;
}

std::string BackendRuntime::identityOf(const config::Backend& backend) {
  config::Address address = backend.address;
  for (char& c : address.host)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return (backend.tls ? "wss://" : "ws://") + config::formatAddress(address);
}

BackendRuntime::BackendRuntime(std::string pool, config::Backend backend)
    : pool_(std::move(pool)), backend_(std::move(backend)), identity_(identityOf(backend_)),
      label_(config::formatAddress(backend_.address)), identity_hash_(balance::hash64(identity_)) {
  weight_.store(backend_.weight, std::memory_order_relaxed);
  max_connections_.store(backend_.max_connections, std::memory_order_relaxed);
}

bool BackendRuntime::tryAcquire(uint64_t limit) {
  if (limit == 0) {
    live_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  uint64_t current = live_.load(std::memory_order_relaxed);
  do {
    if (current >= limit) return false;
  } while (!live_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed));
  return true;
}

void BackendRuntime::setUp(bool up, int64_t now_ms) {
  const bool was = up_.exchange(up, std::memory_order_relaxed);
  if (up && !was) joined_ms_.store(now_ms, std::memory_order_relaxed);
}

void BackendRuntime::setLimits(uint32_t weight, uint64_t max_connections) {
  weight_.store(weight, std::memory_order_relaxed);
  max_connections_.store(max_connections, std::memory_order_relaxed);
}

void BackendRuntime::countSkip(Skip why) const {
  switch (why) {
  case Skip::Down:
    skip_down_.fetch_add(1, std::memory_order_relaxed);
    return;
  case Skip::Full:
    skip_full_.fetch_add(1, std::memory_order_relaxed);
    return;
  case Skip::BoundedLoad:
    skip_bounded_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
}

uint64_t BackendRuntime::skips(Skip why) const {
  switch (why) {
  case Skip::Down:
    return skip_down_.load(std::memory_order_relaxed);
  case Skip::Full:
    return skip_full_.load(std::memory_order_relaxed);
  case Skip::BoundedLoad:
    return skip_bounded_.load(std::memory_order_relaxed);
  }
  return 0;
}

} // namespace wsgate::proxy
