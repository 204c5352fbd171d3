#pragma once

#include "common/config/config.h"

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

namespace wsgate::proxy {

// Picks a backend of a pool for a new session. One instance per pool per worker, so picking
// takes no lock. `excluded[i]` marks backends already tried for this session.
class Balancer {
public:
  virtual ~Balancer() = default;
  virtual std::optional<std::size_t> pick(const config::Pool& pool,
                                          const std::vector<bool>& excluded) = 0;
};

// Cycles through the backends, skipping excluded ones.
class RoundRobinBalancer final : public Balancer {
public:
  std::optional<std::size_t> pick(const config::Pool& pool,
                                  const std::vector<bool>& excluded) override;

private:
  std::size_t next_ = 0;
};

// The balancer for a pool's `balance` setting. Until the load-balancing work lands, every
// algorithm is served by round robin.
std::unique_ptr<Balancer> makeBalancer(const config::Pool& pool);

} // namespace wsgate::proxy
