#include "proxy/balancer/balancer.h"

namespace wsgate::proxy {

std::optional<std::size_t> RoundRobinBalancer::pick(const config::Pool& pool,
                                                    const std::vector<bool>& excluded) {
  const std::size_t n = pool.backends.size();
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t candidate = (next_ + i) % n;
    if (candidate < excluded.size() && excluded[candidate]) continue;
    next_ = candidate + 1;
    return candidate;
  }
  return std::nullopt;
}

std::unique_ptr<Balancer> makeBalancer(const config::Pool&) {
  return std::make_unique<RoundRobinBalancer>();
}

} // namespace wsgate::proxy
