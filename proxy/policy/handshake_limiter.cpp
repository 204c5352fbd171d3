#include "proxy/policy/handshake_limiter.h"

#include <cmath>
#include <functional>

namespace wsgate::proxy::policy {

HandshakeLimiter::Verdict HandshakeLimiter::take(const std::string& ip, uint64_t per_second,
                                                 uint64_t now_ms) {
  if (per_second == 0) return {};
  const auto rate = static_cast<double>(per_second);
  const double capacity = 2 * rate;
  Shard& shard = shards_[std::hash<std::string>{}(ip) % kShards];
  const std::lock_guard lock(shard.mutex);
  auto it = shard.buckets.find(ip);
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= kPerShard) {
      shard.buckets.erase(shard.order.back());
      shard.order.pop_back();
    }
    shard.order.push_front(ip);
    it = shard.buckets.emplace(ip, Bucket{capacity, now_ms, shard.order.begin()}).first;
  } else {
    shard.order.splice(shard.order.begin(), shard.order, it->second.lru);
  }
  Bucket& bucket = it->second;
  // Workers' loop clocks are cached at different moments: one may be a little behind the time
  // another stored, which is no time at all.
  if (now_ms > bucket.last_ms) {
    const double elapsed_s = static_cast<double>(now_ms - bucket.last_ms) / 1000.0;
    bucket.tokens = std::min(capacity, bucket.tokens + elapsed_s * rate);
    bucket.last_ms = now_ms;
  }
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return {};
  }
  const double wait_s = (1.0 - bucket.tokens) / rate;
  return {false, std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(wait_s)))};
}

std::size_t HandshakeLimiter::size() const {
  std::size_t total = 0;
  for (const Shard& shard : shards_) {
    const std::lock_guard lock(shard.mutex);
    total += shard.buckets.size();
  }
  return total;
}

} // namespace wsgate::proxy::policy
