#pragma once

// Verified JWTs by the SHA-256 of the token, so a client that reconnects with the same token
// does not pay for a signature check again. Only accepted tokens are kept, with their exp: an
// entry is used only while now < exp + leeway (as verification would decide), and then the
// token is verified again (and refused). The cache belongs to the keys it was filled with: a
// reload builds new authenticators with empty caches, so a removed key stops working at once.
//
// Bounded: kShards x kSlots entries, each slot holding one token (a new token that maps to a
// taken slot replaces it); claims larger than kMaxClaimBytes are not cached.

#include "common/auth/bearer.h"
#include "common/auth/jwt.h"

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>

namespace wsgate::proxy::policy {

class TokenCache {
public:
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kSlots = 256; // per shard: 4096 tokens in all
  static constexpr std::size_t kMaxClaimBytes = 1024;

  // The cached result for `digest` when it is still valid at `now_s` (exp + leeway), else
  // nullopt.
  std::optional<auth::JwtResult> find(const auth::Digest& digest, int64_t now_s,
                                      int64_t leeway_s) const;
  // Keeps an accepted result.
  void insert(const auth::Digest& digest, const auth::JwtResult& result);

private:
  struct Entry {
    bool used = false;
    auth::Digest digest{};
    auth::JwtResult result;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::array<Entry, kSlots> entries;
  };
  static std::pair<std::size_t, std::size_t> place(const auth::Digest& digest);

  std::array<Shard, kShards> shards_;
};

// The SHA-256 of `token`.
auth::Digest tokenDigest(std::string_view token);

} // namespace wsgate::proxy::policy
