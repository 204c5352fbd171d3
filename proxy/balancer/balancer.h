#pragma once

#include "common/balance/hash.h"
#include "common/balance/pick.h"
#include "common/config/config.h"
#include "proxy/balancer/pool_runtime.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wsgate::proxy {

// What a session asks of a balancer.
struct PickRequest {
  // Backends already tried for this session (their connect failed): never picked again.
  const std::vector<std::shared_ptr<BackendRuntime>>* tried = nullptr;
  // consistent_hash: hash64 of the request's key; nullopt = the request has none.
  std::optional<uint64_t> key_hash;
  int64_t now_ms = 0; // steadyNowMs(), for slow start
};

// The answer: a backend with the session already bound to it (its live count includes this
// session), or why none could take the session.
struct PickResult {
  BackendLease lease;
  std::size_t down = 0;  // backends skipped as down
  std::size_t full = 0;  // backends skipped as full (max_connections)
  std::size_t tried = 0; // backends skipped as already tried
  std::size_t listed = 0;
};

// Picks a backend of one pool for a new session, on one worker. Reads the pool's shared
// run-time state (live sessions over all workers, health, weights) without a lock, and keeps
// only what is private to the worker: the round-robin scores and a random generator.
class Balancer {
public:
  Balancer(std::shared_ptr<PoolRuntime> runtime, uint64_t seed);

  PickResult pick(const config::Pool& pool, const PickRequest& request);
  const PoolRuntime& runtime() const { return *runtime_; }

private:
  // Fills candidates_ from the snapshot; counts what is skipped in `result`.
  void gather(const config::Pool& pool, const PickRequest& request, PickResult& result);
  std::optional<std::size_t> choose(const config::Pool& pool, const PickRequest& request);
  std::optional<std::size_t> chooseHashed(const config::Pool& pool, uint64_t key_hash,
                                          int64_t now_ms);
  uint64_t limitOf(const config::Pool& pool, const BackendRuntime& backend) const;

  std::shared_ptr<PoolRuntime> runtime_;
  std::shared_ptr<const PoolSnapshot> snapshot_;
  uint64_t generation_ = UINT64_MAX;
  balance::SmoothRoundRobin round_robin_;
  balance::Rng rng_;
  std::vector<balance::Candidate> candidates_; // reused by every pick
  std::vector<uint8_t> seen_;                  // chooseHashed: backends already judged
  double up_weight_ = 0;                       // configured weight of the backends that are up
  uint64_t up_live_ = 0;                       // their live sessions
};

} // namespace wsgate::proxy
