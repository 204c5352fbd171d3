#pragma once

// max_handshakes_per_second_per_ip: one token bucket per client IP, shared by every worker.
//
// Memory is bounded: kShards shards of at most kPerShard IPs each, every shard an LRU under
// its own mutex. When a shard is full, the IP that started a handshake least recently loses
// its bucket; should it come back, it starts again with a full bucket (burst). Buckets that
// have refilled are worth nothing, so under a flood from more distinct IPs than the table
// holds the limit degrades to "burst per IP", never to unbounded memory.

#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace wsgate::proxy::policy {

class HandshakeLimiter {
public:
  static constexpr std::size_t kShards = 64;
  static constexpr std::size_t kPerShard = 1024; // 65536 IPs in all

  struct Verdict {
    bool admitted = true;
    uint64_t retry_after_s = 0; // when refused: seconds until one handshake is allowed
  };

  // Takes one token from `ip`'s bucket (rate `per_second`, capacity 2 x rate). `now_ms`:
  // a monotonic clock (a worker's loop time; a time before the bucket's last one counts as
  // no time passed).
  Verdict take(const std::string& ip, uint64_t per_second, uint64_t now_ms);
  std::size_t size() const;

private:
  struct Bucket {
    double tokens = 0;
    uint64_t last_ms = 0;
    std::list<std::string>::iterator lru; // position in Shard::order
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Bucket> buckets;
    std::list<std::string> order; // most recent first
  };
  Shard shards_[kShards];
};

} // namespace wsgate::proxy::policy
