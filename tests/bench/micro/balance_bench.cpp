// One pick as a worker makes it for a new session, over the shared run-time state: the
// balancing cost every upgrade pays. The lease is released again at once, so the live counts
// stay as they are.
#include "common/balance/hash.h"
#include "proxy/balancer/balancer.h"
#include "proxy/balancer/pool_runtime.h"

#include <benchmark/benchmark.h>
#include <string>

namespace {

using namespace wsgate;

void pick(benchmark::State& state, config::Balance balance, double factor) {
  config::Pool pool;
  pool.name = "bench";
  pool.balance = balance;
  pool.hash_balance_factor = factor;
  for (int i = 0; i < state.range(0); ++i) {
    pool.backends.push_back(*config::parseBackend("10.0.0." + std::to_string(i) + ":9001").value);
  }
  auto runtime = std::make_shared<proxy::PoolRuntime>("bench");
  runtime->setBackends(pool.backends, nullptr);
  // Some sessions already live, unevenly.
  std::vector<proxy::BackendLease> held;
  for (const auto& entry : runtime->snapshot()->backends) {
    for (uint64_t n = 0; n < 10 + entry->identityHash() % 20; ++n) {
      entry->tryAcquire(0);
      held.emplace_back(entry);
    }
  }
  proxy::Balancer balancer(runtime, 1);
  uint64_t key = 0;
  const int64_t now = proxy::steadyNowMs();
  for (auto _ : state) {
    proxy::PickResult r =
        balancer.pick(pool, proxy::PickRequest{nullptr, balance::mix64(++key), now});
    benchmark::DoNotOptimize(r.lease.get());
  }
}

void roundRobin(benchmark::State& s) {
  pick(s, config::Balance::RoundRobin, 0);
}
void leastConn(benchmark::State& s) {
  pick(s, config::Balance::LeastConn, 0);
}
void p2c(benchmark::State& s) {
  pick(s, config::Balance::PowerOfTwoChoices, 0);
}
void consistentHash(benchmark::State& s) {
  pick(s, config::Balance::ConsistentHash, 0);
}
void consistentHashBounded(benchmark::State& s) {
  pick(s, config::Balance::ConsistentHash, 1.25);
}

BENCHMARK(roundRobin)->Arg(4)->Arg(32);
BENCHMARK(leastConn)->Arg(4)->Arg(32);
BENCHMARK(p2c)->Arg(4)->Arg(32);
BENCHMARK(consistentHash)->Arg(4)->Arg(32);
BENCHMARK(consistentHashBounded)->Arg(4)->Arg(32);

} // namespace
