#include "proxy/balancer/balancer.h"

#include <algorithm>

namespace wsgate::proxy {

Balancer::Balancer(std::shared_ptr<PoolRuntime> runtime, uint64_t seed)
    : runtime_(std::move(runtime)), rng_(seed) {}

uint64_t Balancer::limitOf(const config::Pool& pool, const BackendRuntime& backend) const {
  const uint64_t own = backend.maxConnections();
  return own != 0 ? own : pool.max_connections_per_backend;
}

void Balancer::gather(const config::Pool& pool, const PickRequest& request, PickResult& result) {
  const auto& backends = snapshot_->backends;
  candidates_.resize(backends.size());
  result.down = result.full = result.tried = 0;
  up_weight_ = 0;
  up_live_ = 0;
  const int64_t window = pool.slow_start.count();
  for (std::size_t i = 0; i < backends.size(); ++i) {
    const BackendRuntime& backend = *backends[i];
    balance::Candidate& c = candidates_[i];
    c.live = backend.live();
    const auto weight = static_cast<double>(backend.weight());
    const int64_t joined = backend.joinedMs();
    c.weight =
        joined == 0 ? weight : weight * balance::slowStartFactor(request.now_ms - joined, window);
    c.available = false;
    if (!backend.up()) {
      ++result.down;
      backend.countSkip(BackendRuntime::Skip::Down);
      continue;
    }
    up_weight_ += weight;
    up_live_ += c.live;
    if (request.tried != nullptr &&
        std::any_of(request.tried->begin(), request.tried->end(),
                    [&](const auto& tried) { return tried.get() == &backend; })) {
      ++result.tried;
      continue;
    }
    const uint64_t limit = limitOf(pool, backend);
    if (limit != 0 && c.live >= limit) {
      ++result.full;
      backend.countSkip(BackendRuntime::Skip::Full);
      continue;
    }
    c.available = true;
  }
}

std::optional<std::size_t> Balancer::choose(const config::Pool& pool, const PickRequest& request) {
  switch (pool.balance) {
  case config::Balance::RoundRobin:
    return round_robin_.pick(candidates_);
  case config::Balance::LeastConn:
    return balance::pickLeastConn(candidates_, rng_);
  case config::Balance::PowerOfTwoChoices:
    return balance::pickP2C(candidates_, rng_);
  case config::Balance::Random:
    return balance::pickRandom(candidates_, rng_);
  case config::Balance::ConsistentHash:
    if (request.key_hash) return chooseHashed(pool, *request.key_hash, request.now_ms);
    return balance::pickLeastConn(candidates_, rng_);
  }
  return std::nullopt;
}

// Walks the Maglev table from the key's slot; the first backend that can take the session
// wins. Passed over on the way: unavailable ones, ones above the bounded-load capacity, and
// ones still in slow start for this key (a key is admitted to a ramping backend when its own
// hash falls under the ramp, so the same keys move on every replica). When every available
// backend was passed over only for load or ramp, the first available one in table order wins.
std::optional<std::size_t> Balancer::chooseHashed(const config::Pool& pool, uint64_t key_hash,
                                                  int64_t now_ms) {
  const balance::MaglevTable& table = snapshot_->table;
  const std::size_t n = candidates_.size();
  if (n == 0 || table.backends() != n) return std::nullopt;
  seen_.assign(n, 0);
  std::optional<std::size_t> fallback;
  std::size_t judged = 0;
  const std::size_t start = table.slotOf(key_hash);
  for (std::size_t step = 0; step < table.size() && judged < n; ++step) {
    const std::size_t i = table.at(start + step);
    if (seen_[i] != 0) continue;
    seen_[i] = 1;
    ++judged;
    const balance::Candidate& c = candidates_[i];
    if (!c.available) continue;
    if (!fallback) fallback = i;
    const BackendRuntime& backend = *snapshot_->backends[i];
    const auto weight = static_cast<double>(backend.weight());
    if (backend.joinedMs() != 0) {
      const double ramp =
          balance::slowStartFactor(now_ms - backend.joinedMs(), pool.slow_start.count());
      const double draw =
          static_cast<double>(balance::mix64(key_hash ^ backend.identityHash()) >> 11) * 0x1.0p-53;
      if (draw >= ramp) continue;
    }
    if (pool.hash_balance_factor > 0 &&
        c.live + 1 >
            balance::boundedCapacity(pool.hash_balance_factor, up_live_, weight, up_weight_)) {
      backend.countSkip(BackendRuntime::Skip::BoundedLoad);
      continue;
    }
    return i;
  }
  return fallback;
}

PickResult Balancer::pick(const config::Pool& pool, const PickRequest& request) {
  if (const uint64_t generation = runtime_->generation(); generation != generation_) {
    snapshot_ = runtime_->snapshot();
    generation_ = snapshot_->generation;
    round_robin_.reset(snapshot_->backends.size());
  }
  PickResult result;
  result.listed = snapshot_->backends.size();
  // A backend can fill up between gather() and tryAcquire() (another worker won the last
  // slot): then look again, at most once per backend.
  for (std::size_t attempt = 0; attempt <= result.listed; ++attempt) {
    gather(pool, request, result);
    const auto index = choose(pool, request);
    if (!index) return result;
    const std::shared_ptr<BackendRuntime>& backend = snapshot_->backends[*index];
    if (backend->tryAcquire(limitOf(pool, *backend))) {
      backend->countPick();
      result.lease = BackendLease(backend);
      return result;
    }
  }
  return result;
}

} // namespace wsgate::proxy
