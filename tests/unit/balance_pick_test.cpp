// The balancing algorithms on their own: distributions over 10^5 picks, weights, load
// following, ties, slow-start ramps, bounded capacity and the Retry-After jitter.
#include "common/balance/pick.h"

#include <cmath>
#include <gtest/gtest.h>
#include <map>
#include <vector>

namespace wsgate::balance {
namespace {

constexpr int kPicks = 100000;

std::vector<Candidate> weighted(std::vector<double> weights) {
  std::vector<Candidate> out;
  for (double w : weights)
    out.push_back(Candidate{w, 0, true});
  return out;
}

// Share of picks per backend, against the expected weight share, within `tolerance` (absolute).
template <typename Pick>
void expectShares(std::vector<Candidate> candidates, Pick pick, double tolerance) {
  std::vector<int> counts(candidates.size(), 0);
  double total = 0;
  for (const Candidate& c : candidates)
    total += c.available ? c.weight : 0;
  for (int i = 0; i < kPicks; ++i) {
    const auto index = pick(candidates);
    ASSERT_TRUE(index.has_value());
    ++counts[*index];
  }
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const double expected = candidates[i].available ? candidates[i].weight / total : 0.0;
    EXPECT_NEAR(static_cast<double>(counts[i]) / kPicks, expected, tolerance) << "backend " << i;
  }
}

TEST(SmoothRoundRobin, ExactWeightedSharesInterleaved) {
  SmoothRoundRobin rr;
  const auto candidates = weighted({5, 1, 1});
  std::vector<std::size_t> order;
  for (int i = 0; i < 7; ++i)
    order.push_back(*rr.pick(candidates));
  // nginx's example: a a b a c a a, never five in a row.
  EXPECT_EQ(order, (std::vector<std::size_t>{0, 0, 1, 0, 2, 0, 0}));
  SmoothRoundRobin even;
  expectShares(
      weighted({1, 2, 3, 4}), [&](const auto& c) { return even.pick(c); }, 0.0001);
}

TEST(SmoothRoundRobin, SkipsUnavailableAndAnswersNoneWhenNoneLeft) {
  SmoothRoundRobin rr;
  auto candidates = weighted({1, 1, 1});
  candidates[1].available = false;
  expectShares(
      candidates, [&](const auto& c) { return rr.pick(c); }, 0.0001);
  for (Candidate& c : candidates)
    c.available = false;
  EXPECT_FALSE(rr.pick(candidates).has_value());
}

TEST(Random, WeightedDistribution) {
  Rng rng(1);
  expectShares(
      weighted({1, 1, 2, 4}), [&](const auto& c) { return pickRandom(c, rng); }, 0.01);
  auto candidates = weighted({1, 1, 1});
  candidates[0].available = false;
  expectShares(
      candidates, [&](const auto& c) { return pickRandom(c, rng); }, 0.01);
}

// least_conn and p2c place sessions that stay: the picked backend's live count grows.
template <typename Pick> std::vector<uint64_t> place(std::vector<Candidate> candidates, Pick pick) {
  for (int i = 0; i < kPicks; ++i) {
    const auto index = pick(candidates);
    EXPECT_TRUE(index.has_value());
    if (!index) break;
    ++candidates[*index].live;
  }
  std::vector<uint64_t> out;
  for (const Candidate& c : candidates)
    out.push_back(c.live);
  return out;
}

TEST(LeastConn, LiveSessionsFollowWeightsExactly) {
  Rng rng(2);
  const auto live =
      place(weighted({1, 1, 3}), [&](const auto& c) { return pickLeastConn(c, rng); });
  EXPECT_NEAR(static_cast<double>(live[0]), kPicks / 5.0, 1);
  EXPECT_NEAR(static_cast<double>(live[1]), kPicks / 5.0, 1);
  EXPECT_NEAR(static_cast<double>(live[2]), kPicks * 3 / 5.0, 1);
}

TEST(LeastConn, PicksTheLeastLoadedAndBreaksTiesAtRandom) {
  Rng rng(3);
  std::vector<Candidate> candidates{{1, 10, true}, {1, 4, true}, {1, 4, true}, {2, 12, true}};
  std::map<std::size_t, int> counts;
  for (int i = 0; i < 10000; ++i)
    ++counts[*pickLeastConn(candidates, rng)];
  // (4+1)/1 = 5 for backends 1 and 2; (12+1)/2 = 6.5; (10+1)/1 = 11.
  EXPECT_EQ(counts.size(), 2U);
  EXPECT_NEAR(counts[1], 5000, 300);
  EXPECT_NEAR(counts[2], 5000, 300);
}

TEST(P2C, StaysNearlyEvenAndFollowsWeights) {
  Rng rng(4);
  const auto live = place(weighted({1, 1, 1, 1}), [&](const auto& c) { return pickP2C(c, rng); });
  for (uint64_t n : live)
    EXPECT_NEAR(static_cast<double>(n), kPicks / 4.0, kPicks * 0.01);
  const auto heavy = place(weighted({1, 3}), [&](const auto& c) { return pickP2C(c, rng); });
  EXPECT_NEAR(static_cast<double>(heavy[1]) / kPicks, 0.75, 0.01);
}

TEST(P2C, OneAvailableBackendIsPicked) {
  Rng rng(5);
  std::vector<Candidate> candidates{{1, 0, false}, {1, 100, true}, {1, 0, false}};
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(pickP2C(candidates, rng), std::optional<std::size_t>(1));
  candidates[1].available = false;
  EXPECT_FALSE(pickP2C(candidates, rng).has_value());
}

TEST(SlowStart, RampsLinearlyFromOnePercent) {
  EXPECT_DOUBLE_EQ(slowStartFactor(0, 0), 1.0);
  EXPECT_DOUBLE_EQ(slowStartFactor(0, 10000), kMinRamp);
  EXPECT_DOUBLE_EQ(slowStartFactor(2500, 10000), 0.25);
  EXPECT_DOUBLE_EQ(slowStartFactor(5000, 10000), 0.5);
  EXPECT_DOUBLE_EQ(slowStartFactor(10000, 10000), 1.0);
  EXPECT_DOUBLE_EQ(slowStartFactor(20000, 10000), 1.0);
}

TEST(SlowStart, ARampingBackendGetsItsShareOfNewSessions) {
  // Backend 2 joined a quarter of the way into its window: a quarter of its weight.
  SmoothRoundRobin rr;
  expectShares(
      weighted({1, 1, slowStartFactor(2500, 10000)}), [&](const auto& c) { return rr.pick(c); },
      0.001);
  Rng rng(6);
  expectShares(
      weighted({1, slowStartFactor(5000, 10000)}),
      [&](const auto& c) { return pickRandom(c, rng); }, 0.01);
  // least_conn: a backend at half weight holds half as many sessions.
  const auto live = place(weighted({1, slowStartFactor(5000, 10000)}),
                          [&](const auto& c) { return pickLeastConn(c, rng); });
  EXPECT_NEAR(static_cast<double>(live[1]) / static_cast<double>(live[0]), 0.5, 0.001);
}

TEST(BoundedCapacity, IsTheCeilingOfFactorTimesTheWeightedMean) {
  EXPECT_EQ(boundedCapacity(1.25, 0, 1, 4), 1U);   // ceil(1.25 x 1 / 4)
  EXPECT_EQ(boundedCapacity(1.25, 99, 1, 4), 32U); // ceil(1.25 x 100 / 4) = ceil(31.25)
  EXPECT_EQ(boundedCapacity(2.0, 99, 1, 4), 50U);  // exact: no rounding up past it
  EXPECT_EQ(boundedCapacity(1.25, 99, 2, 4), 63U); // weight 2 of 4: twice the share
  EXPECT_EQ(boundedCapacity(1.25, 99, 1, 0), 0U);
}

TEST(Jitter, RetryAfterStaysWithinHalfToOneAndAHalfTimes) {
  EXPECT_EQ(jitteredSeconds(2000, 0.0), 1U);
  EXPECT_EQ(jitteredSeconds(2000, 0.5), 2U);
  EXPECT_EQ(jitteredSeconds(2000, 0.999), 3U);
  EXPECT_EQ(jitteredSeconds(100, 0.0), 1U); // never 0
  Rng rng(7);
  std::map<uint64_t, int> seen;
  for (int i = 0; i < 10000; ++i)
    ++seen[jitteredSeconds(10000, rng.unit())];
  EXPECT_EQ(seen.begin()->first, 5U);
  EXPECT_EQ(seen.rbegin()->first, 15U);
  EXPECT_EQ(seen.size(), 11U);
}

TEST(Hash, FixedValuesEveryReplicaAgreesOn) {
  // Pinned: a change here would send every key to another backend after an upgrade, and
  // replicas of different versions would disagree.
  EXPECT_EQ(hash64(""), 0xf52a15e9a9b5e89bULL);
  EXPECT_EQ(hash64("ws://10.0.0.1:9001"), 0x74fa3ec3ac96594cULL);
  EXPECT_EQ(hash64("ws://10.0.0.1:9001", 1), 0x1ec805e5666a48ebULL);
}

} // namespace
} // namespace wsgate::balance
