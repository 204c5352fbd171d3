// The balancers as workers run them: over the pools' shared run-time state (live sessions of
// every worker, health, limits), which survives reloads and run-time backend changes.
#include "common/balance/hash.h"
#include "common/config/values.h"
#include "proxy/balancer/balancer.h"
#include "proxy/balancer/pool_runtime.h"

#include <algorithm>
#include <gtest/gtest.h>
#include <map>
#include <string>
#include <vector>

namespace wsgate::proxy {
namespace {

config::Backend backend(const std::string& text, uint32_t weight = 1, uint64_t max = 0) {
  auto parsed = config::parseBackend(text);
  EXPECT_TRUE(parsed.value.has_value()) << parsed.error;
  parsed.value->weight = weight;
  parsed.value->max_connections = max;
  return *parsed.value;
}

config::Pool pool(config::Balance balance, std::vector<config::Backend> backends) {
  config::Pool out;
  out.name = "p";
  out.balance = balance;
  out.backends = std::move(backends);
  return out;
}

std::vector<config::Backend> three() {
  return {backend("127.0.0.1:9001"), backend("127.0.0.1:9002"), backend("127.0.0.1:9003")};
}

struct Fixture {
  std::shared_ptr<PoolRuntime> runtime = std::make_shared<PoolRuntime>("p");
  std::vector<BackendLease> held;

  Fixture(const config::Pool& p) { runtime->setBackends(p.backends, nullptr); }
  std::string pickAndHold(Balancer& b, const config::Pool& p, std::optional<uint64_t> key = {},
                          int64_t now = 0) {
    PickResult r = b.pick(p, PickRequest{nullptr, key, now == 0 ? steadyNowMs() : now});
    if (!r.lease) return "";
    std::string id = r.lease->identity();
    held.push_back(std::move(r.lease));
    return id;
  }
  uint64_t live(const std::string& address) {
    return runtime->find(BackendRuntime::identityOf(backend(address)))->live();
  }
};

TEST(PoolRuntime, SetBackendsKeepsTheStateOfEveryIdentityItKeeps) {
  PoolRuntime runtime("p");
  auto change = runtime.setBackends(three(), nullptr);
  EXPECT_EQ(change.added.size(), 3U);
  const auto first = runtime.find("ws://127.0.0.1:9001");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->joinedMs(), 0) << "the first list does not ramp";
  ASSERT_TRUE(first->tryAcquire(0));
  ASSERT_TRUE(first->tryAcquire(0));
  first->setUp(false, steadyNowMs());
  const uint64_t generation = runtime.generation();

  // Same list in another order, written differently: nothing changes.
  change = runtime.setBackends(
      {backend("ws://127.0.0.1:9003"), backend("127.0.0.1:9002"), backend("WS://127.0.0.1:9001")},
      nullptr);
  EXPECT_TRUE(change.added.empty());
  EXPECT_TRUE(change.removed.empty());
  EXPECT_EQ(runtime.generation(), generation);

  // 9003 leaves, 9004 joins: 9001 keeps its two sessions and its health.
  change = runtime.setBackends(
      {backend("127.0.0.1:9001"), backend("127.0.0.1:9002"), backend("127.0.0.1:9004")}, nullptr);
  ASSERT_EQ(change.added.size(), 1U);
  EXPECT_EQ(change.added[0]->identity(), "ws://127.0.0.1:9004");
  EXPECT_GT(change.added[0]->joinedMs(), 0) << "a backend joining later ramps";
  ASSERT_EQ(change.removed.size(), 1U);
  EXPECT_EQ(change.removed[0]->identity(), "ws://127.0.0.1:9003");
  EXPECT_TRUE(change.removed[0]->removed());
  EXPECT_NE(runtime.generation(), generation);
  EXPECT_EQ(runtime.find("ws://127.0.0.1:9001"), first);
  EXPECT_EQ(first->live(), 2U);
  EXPECT_FALSE(first->up());
  EXPECT_EQ(runtime.find("ws://127.0.0.1:9003"), nullptr);
  // wss:// to the same host:port is another backend.
  EXPECT_NE(BackendRuntime::identityOf(backend("wss://127.0.0.1:9001")), first->identity());
}

TEST(PoolRuntime, ABackendThatReturnsWhileItsSessionsLiveGetsItsEntryBack) {
  PoolRuntime runtime("p");
  runtime.setBackends(three(), nullptr);
  auto entry = runtime.find("ws://127.0.0.1:9002");
  BackendLease lease(entry);
  ASSERT_TRUE(entry->tryAcquire(0));
  runtime.setBackends({backend("127.0.0.1:9001")}, nullptr);
  EXPECT_TRUE(entry->removed());
  EXPECT_EQ(entry->live(), 1U) << "sessions on a removed backend stay counted until they end";
  runtime.setBackends({backend("127.0.0.1:9001"), backend("127.0.0.1:9002")}, nullptr);
  EXPECT_EQ(runtime.find("ws://127.0.0.1:9002"), entry);
  EXPECT_FALSE(entry->removed());
  lease.reset();
  EXPECT_EQ(entry->live(), 0U);
}

TEST(BalancerState, AReloadKeepsCountsAndHealthOfPoolsItKeeps) {
  BalancerState state;
  config::Config before;
  before.pools.push_back(pool(config::Balance::LeastConn, three()));
  state.applyConfig(before, nullptr);
  auto entry = state.find("p")->find("ws://127.0.0.1:9002");
  ASSERT_TRUE(entry->tryAcquire(0));
  state.setUp("p", "127.0.0.1:9003", false);

  config::Config after;
  after.pools.push_back(pool(config::Balance::ConsistentHash, three()));
  after.pools.back().backends.push_back(backend("127.0.0.1:9004", 2));
  state.applyConfig(after, nullptr);
  EXPECT_EQ(state.find("p")->find("ws://127.0.0.1:9002"), entry);
  EXPECT_EQ(entry->live(), 1U);
  EXPECT_FALSE(state.find("p")->find("ws://127.0.0.1:9003")->up());
  EXPECT_EQ(state.find("p")->find("ws://127.0.0.1:9004")->weight(), 2U);
  // A recovery restarts the slow-start ramp.
  const auto down = state.find("p")->find("ws://127.0.0.1:9003");
  EXPECT_EQ(down->joinedMs(), 0);
  state.setUp("p", "127.0.0.1:9003", true);
  EXPECT_TRUE(down->up());
  EXPECT_GT(down->joinedMs(), 0);
  entry->release();
}

TEST(Balancer, LeastConnCountsTheSessionsOfEveryWorker) {
  const auto p = pool(config::Balance::LeastConn, three());
  Fixture f(p);
  Balancer worker_a(f.runtime, 1);
  Balancer worker_b(f.runtime, 2);
  // Worker A places 30 sessions: 10 each.
  for (int i = 0; i < 30; ++i)
    ASSERT_FALSE(f.pickAndHold(worker_a, p).empty());
  for (const char* b : {"127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"})
    EXPECT_EQ(f.live(b), 10U);
  // Sessions on 9001 end (on worker A): worker B's next ten picks all go to 9001.
  for (auto it = f.held.begin(); it != f.held.end();) {
    it = (*it)->identity() == "ws://127.0.0.1:9001" ? f.held.erase(it) : std::next(it);
  }
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(f.pickAndHold(worker_b, p), "ws://127.0.0.1:9001");
}

TEST(Balancer, WeightedRoundRobinFromTheConfig) {
  const auto p = pool(config::Balance::RoundRobin,
                      {backend("127.0.0.1:9001", 1), backend("127.0.0.1:9002", 3)});
  Fixture f(p);
  Balancer b(f.runtime, 1);
  std::map<std::string, int> counts;
  for (int i = 0; i < 100000; ++i) {
    PickResult r = b.pick(p, PickRequest{nullptr, std::nullopt, steadyNowMs()});
    ++counts[r.lease->identity()];
  }
  EXPECT_EQ(counts["ws://127.0.0.1:9001"], 25000);
  EXPECT_EQ(counts["ws://127.0.0.1:9002"], 75000);
}

TEST(Balancer, FullAndDownBackendsAreSkippedAndNoneLeftSaysWhy) {
  auto p =
      pool(config::Balance::RoundRobin,
           {backend("127.0.0.1:9001", 1, 2), backend("127.0.0.1:9002"), backend("127.0.0.1:9003")});
  p.max_connections_per_backend = 3;
  Fixture f(p);
  Balancer b(f.runtime, 1);
  f.runtime->setUp("127.0.0.1:9003", false, steadyNowMs());
  for (int i = 0; i < 5; ++i)
    ASSERT_FALSE(f.pickAndHold(b, p).empty());
  EXPECT_EQ(f.live("127.0.0.1:9001"), 2U) << "its own max_connections";
  EXPECT_EQ(f.live("127.0.0.1:9002"), 3U) << "the pool's max_connections_per_backend";
  EXPECT_EQ(f.live("127.0.0.1:9003"), 0U) << "down";
  PickResult none = b.pick(p, PickRequest{nullptr, std::nullopt, steadyNowMs()});
  EXPECT_FALSE(none.lease);
  EXPECT_EQ(none.listed, 3U);
  EXPECT_EQ(none.full, 2U);
  EXPECT_EQ(none.down, 1U);
  // A session ending frees a slot at once.
  f.held.erase(f.held.begin());
  EXPECT_FALSE(f.pickAndHold(b, p).empty());
}

TEST(Balancer, ATriedBackendIsNotPickedAgain) {
  const auto p = pool(config::Balance::ConsistentHash, three());
  Fixture f(p);
  Balancer b(f.runtime, 1);
  std::vector<std::shared_ptr<BackendRuntime>> tried;
  for (int i = 0; i < 3; ++i) {
    PickResult r = b.pick(p, PickRequest{&tried, balance::hash64("k"), steadyNowMs()});
    ASSERT_TRUE(r.lease);
    EXPECT_EQ(std::count(tried.begin(), tried.end(), r.lease.shared()), 0);
    tried.push_back(r.lease.shared());
  }
  PickResult r = b.pick(p, PickRequest{&tried, balance::hash64("k"), steadyNowMs()});
  EXPECT_FALSE(r.lease);
  EXPECT_EQ(r.tried, 3U);
}

// Two replicas with the same backends listed in different orders agree on every key.
TEST(Balancer, ConsistentHashAgreesAcrossReplicasWhateverTheOrder) {
  std::vector<config::Backend> list;
  for (int i = 0; i < 8; ++i)
    list.push_back(backend("10.1.0." + std::to_string(i) + ":80"));
  auto reversed = list;
  std::reverse(reversed.begin(), reversed.end());
  const auto a = pool(config::Balance::ConsistentHash, list);
  const auto b = pool(config::Balance::ConsistentHash, reversed);
  Fixture fa(a);
  Fixture fb(b);
  Balancer ba(fa.runtime, 1);
  Balancer bb(fb.runtime, 99);
  for (int k = 0; k < 10000; ++k) {
    const uint64_t key = balance::hash64("session-" + std::to_string(k));
    PickResult ra = ba.pick(a, PickRequest{nullptr, key, steadyNowMs()});
    PickResult rb = bb.pick(b, PickRequest{nullptr, key, steadyNowMs()});
    ASSERT_EQ(ra.lease->identity(), rb.lease->identity()) << "key " << k;
  }
}

// Bounded loads: however skewed the keys, no backend holds more than
// ceil(factor x (total + 1) / n) sessions, and a key whose backend is not full stays there.
TEST(Balancer, BoundedLoadsCapEveryBackend) {
  auto p = pool(config::Balance::ConsistentHash, {});
  for (int i = 0; i < 4; ++i)
    p.backends.push_back(backend("10.2.0." + std::to_string(i) + ":80"));
  p.hash_balance_factor = 1.25;
  Fixture f(p);
  Balancer b(f.runtime, 1);
  const uint64_t hot = balance::hash64("hot-key");
  for (int i = 0; i < 4000; ++i) {
    // Half of all sessions carry the same key.
    const uint64_t key = i % 2 == 0 ? hot : balance::hash64("k" + std::to_string(i));
    ASSERT_FALSE(f.pickAndHold(b, p, key).empty());
    uint64_t total = 0;
    uint64_t most = 0;
    for (const auto& e : f.runtime->snapshot()->backends) {
      total += e->live();
      most = std::max(most, e->live());
    }
    ASSERT_LE(most, balance::boundedCapacity(1.25, total - 1, 1, 4)) << "after " << i + 1;
  }
  // Without the bound, the hot key's backend would hold over half of them.
  auto unbounded = p;
  unbounded.hash_balance_factor = 0;
  Fixture g(unbounded);
  Balancer gb(g.runtime, 1);
  for (int i = 0; i < 4000; ++i)
    g.pickAndHold(gb, unbounded, i % 2 == 0 ? hot : balance::hash64("k" + std::to_string(i)));
  uint64_t most = 0;
  for (const auto& e : g.runtime->snapshot()->backends)
    most = std::max(most, e->live());
  EXPECT_GT(most, 2000U);
}

// A backend that joins with slow_start takes its hashed keys in proportion to the ramp, and
// the same keys on every replica.
TEST(Balancer, ConsistentHashSlowStartAdmitsARampingShareOfKeys) {
  auto p = pool(config::Balance::ConsistentHash, three());
  p.slow_start = std::chrono::seconds(100);
  Fixture f(p);
  p.backends.push_back(backend("127.0.0.1:9004"));
  f.runtime->setBackends(p.backends, nullptr);
  const auto joined = f.runtime->find("ws://127.0.0.1:9004")->joinedMs();
  Balancer b(f.runtime, 1);
  for (const double at : {0.25, 0.5, 1.0}) {
    int to_new = 0;
    for (int k = 0; k < 40000; ++k) {
      PickResult r = b.pick(p, PickRequest{nullptr, balance::hash64("u" + std::to_string(k)),
                                           joined + static_cast<int64_t>(at * 100000)});
      to_new += r.lease->identity() == "ws://127.0.0.1:9004" ? 1 : 0;
    }
    EXPECT_NEAR(to_new / 40000.0, 0.25 * at, 0.02) << "at " << at;
  }
}

TEST(Balancer, SeesBackendsAddedAtRunTime) {
  const auto p = pool(config::Balance::LeastConn, {backend("127.0.0.1:9001")});
  Fixture f(p);
  Balancer b(f.runtime, 1);
  EXPECT_EQ(f.pickAndHold(b, p), "ws://127.0.0.1:9001");
  f.runtime->setBackends({backend("127.0.0.1:9001"), backend("127.0.0.1:9002")}, nullptr);
  EXPECT_EQ(f.pickAndHold(b, p), "ws://127.0.0.1:9002");
  f.runtime->setBackends({}, nullptr);
  PickResult none = b.pick(p, PickRequest{nullptr, std::nullopt, steadyNowMs()});
  EXPECT_FALSE(none.lease);
  EXPECT_EQ(none.listed, 0U);
}

} // namespace
} // namespace wsgate::proxy
