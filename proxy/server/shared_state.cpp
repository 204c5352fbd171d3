#include "proxy/server/shared_state.h"

namespace wsgate::proxy {

bool SharedState::admitConnection(uint64_t max_connections) {
  uint64_t current = active_.load(std::memory_order_relaxed);
  do {
    if (current >= max_connections) return false;
  } while (!active_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed));
  return true;
}

bool SharedState::admitIp(const std::string& ip, uint64_t limit) {
  std::lock_guard lock(ip_mutex_);
  uint64_t& count = per_ip_[ip];
  if (limit != 0 && count >= limit) {
    if (count == 0) per_ip_.erase(ip);
    return false;
  }
  ++count;
  return true;
}

void SharedState::releaseIp(const std::string& ip) {
  std::lock_guard lock(ip_mutex_);
  const auto it = per_ip_.find(ip);
  if (it == per_ip_.end()) return;
  if (--it->second == 0) per_ip_.erase(it);
}

} // namespace wsgate::proxy
