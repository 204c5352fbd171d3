// The rebalancer's arithmetic: weighted fair shares, the most overloaded backend, pacing.
#include "proxy/balancer/shed_plan.h"

#include <gtest/gtest.h>

namespace wsgate::proxy {
namespace {

std::vector<BackendLoad> loads(std::vector<uint64_t> sessions, std::vector<double> weights = {}) {
  std::vector<BackendLoad> out;
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    out.push_back({"b" + std::to_string(i), weights.empty() ? 1.0 : weights[i], sessions[i], true});
  }
  return out;
}

TEST(ShedPlan, FairSharesByWeight) {
  auto l = loads({600, 400, 0}, {1, 2, 1});
  const auto shares = fairShares(l);
  EXPECT_DOUBLE_EQ(shares[0], 250);
  EXPECT_DOUBLE_EQ(shares[1], 500);
  EXPECT_DOUBLE_EQ(shares[2], 250);
  l[2].eligible = false; // a down backend has no share and its sessions do not count
  const auto without = fairShares(l);
  EXPECT_DOUBLE_EQ(without[0], 1000.0 / 3);
  EXPECT_DOUBLE_EQ(without[2], 0);
}

TEST(ShedPlan, TwoToFourBackends) {
  auto l = loads({500, 500, 0, 0});
  const auto first = mostOverloaded(l, 0.25);
  ASSERT_TRUE(first.has_value());
  EXPECT_LT(*first, 2U);
  // Within tolerance once no backend is above 1.25 x 250 = 312.5.
  EXPECT_FALSE(mostOverloaded(loads({312, 312, 188, 188}), 0.25).has_value());
  const auto over = mostOverloaded(loads({313, 312, 188, 187}), 0.25);
  ASSERT_TRUE(over.has_value());
  EXPECT_EQ(*over, 0U);
  // The most overloaded relative to its weight goes first.
  const auto weighted = mostOverloaded(loads({300, 500, 0}, {1, 3, 1}), 0.0);
  ASSERT_TRUE(weighted.has_value());
  EXPECT_EQ(*weighted, 0U); // 300 / 160 beats 500 / 480
}

TEST(ShedPlan, NothingToGainFromWholeSessions) {
  EXPECT_FALSE(mostOverloaded(loads({1, 0, 0}), 0.0).has_value()); // share 1/3: moving it only
                                                                   // moves the excess
  EXPECT_FALSE(mostOverloaded(loads({0, 0}), 0.25).has_value());
  EXPECT_TRUE(mostOverloaded(loads({2, 0}), 0.0).has_value());
}

TEST(ShedPlan, PacerNeverBursts) {
  Pacer pacer(10); // 100 ms apart
  EXPECT_TRUE(pacer.take(1'000'000));
  EXPECT_FALSE(pacer.take(1'050'000));
  EXPECT_EQ(pacer.wait(1'050'000), 50'000U);
  // A late tick does not make up for lost time: one event, then 100 ms again.
  EXPECT_TRUE(pacer.take(2'000'000));
  EXPECT_FALSE(pacer.take(2'000'001));
  EXPECT_TRUE(pacer.take(2'100'000));
  int taken = 0;
  for (uint64_t t = 3'000'000; t < 4'000'000; t += 1000)
    taken += pacer.take(t) ? 1 : 0;
  EXPECT_EQ(taken, 10);
}

} // namespace
} // namespace wsgate::proxy
