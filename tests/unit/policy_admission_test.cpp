// The process-wide handshake rate limiter (token bucket per IP, burst 2x, bounded table) and
// the cache of verified tokens (exp respected, bounded).
#include "proxy/policy/handshake_limiter.h"
#include "proxy/policy/token_cache.h"

#include <gtest/gtest.h>

namespace wsgate::proxy::policy {
namespace {

TEST(HandshakeLimiter, BurstOfTwiceTheRateThenRefill) {
  HandshakeLimiter limiter;
  const uint64_t t0 = 1'000'000;
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(limiter.take("10.0.0.1", 2, t0).admitted) << i;
  const auto refused = limiter.take("10.0.0.1", 2, t0);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.retry_after_s, 1U);
  EXPECT_TRUE(limiter.take("10.0.0.2", 2, t0).admitted); // other addresses are not affected
  EXPECT_FALSE(limiter.take("10.0.0.1", 2, t0 + 400).admitted);
  EXPECT_TRUE(limiter.take("10.0.0.1", 2, t0 + 500).admitted); // one token after 0.5 s
  EXPECT_TRUE(limiter.take("10.0.0.1", 0, t0).admitted);       // 0 = unlimited
}

TEST(HandshakeLimiter, RetryAfterCoversASlowRate) {
  HandshakeLimiter limiter;
  // A rate of 1 per second: after the burst of 2 the next token comes in 1 s.
  EXPECT_TRUE(limiter.take("a", 1, 0).admitted);
  EXPECT_TRUE(limiter.take("a", 1, 0).admitted);
  EXPECT_EQ(limiter.take("a", 1, 0).retry_after_s, 1U);
  EXPECT_EQ(limiter.take("a", 1, 900).admitted, false);
  EXPECT_EQ(limiter.take("a", 1, 1000).admitted, true);
}

TEST(HandshakeLimiter, AnEarlierClockIsNoTimePassed) {
  HandshakeLimiter limiter;
  EXPECT_TRUE(limiter.take("a", 1, 5000).admitted);
  EXPECT_TRUE(limiter.take("a", 1, 5000).admitted);
  EXPECT_FALSE(limiter.take("a", 1, 4990).admitted); // another worker's clock, 10 ms behind
}

TEST(HandshakeLimiter, MemoryIsBounded) {
  HandshakeLimiter limiter;
  const std::size_t capacity = HandshakeLimiter::kShards * HandshakeLimiter::kPerShard;
  for (std::size_t i = 0; i < capacity * 2; ++i)
    limiter.take("ip-" + std::to_string(i), 1, 0);
  EXPECT_LE(limiter.size(), capacity);
  EXPECT_GT(limiter.size(), capacity / 2);
}

TEST(TokenCache, KeepsAcceptedTokensUntilExpPlusLeeway) {
  TokenCache cache;
  auth::JwtResult ok;
  ok.failure = auth::Failure::Ok;
  ok.exp = 1000;
  ok.claims = {{"sub", "alice"}};
  const auth::Digest digest = tokenDigest("token-a");
  EXPECT_FALSE(cache.find(digest, 900, 0).has_value());
  cache.insert(digest, ok);
  const auto hit = cache.find(digest, 999, 0);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->claims, ok.claims);
  EXPECT_FALSE(cache.find(digest, 1000, 0).has_value());
  EXPECT_TRUE(cache.find(digest, 1009, 10).has_value());
  EXPECT_FALSE(cache.find(digest, 1010, 10).has_value());
  EXPECT_FALSE(cache.find(tokenDigest("token-b"), 0, 0).has_value());
}

TEST(TokenCache, LargeClaimsAreNotCached) {
  TokenCache cache;
  auth::JwtResult ok;
  ok.failure = auth::Failure::Ok;
  ok.claims = {{"big", std::string(TokenCache::kMaxClaimBytes + 1, 'x')}};
  cache.insert(tokenDigest("t"), ok);
  EXPECT_FALSE(cache.find(tokenDigest("t"), 0, 0).has_value());
}

} // namespace
} // namespace wsgate::proxy::policy
