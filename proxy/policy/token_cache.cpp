#include "proxy/policy/token_cache.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace wsgate::proxy::policy {

auth::Digest tokenDigest(std::string_view token) {
  auth::Digest digest{};
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest.data());
  return digest;
}

std::pair<std::size_t, std::size_t> TokenCache::place(const auth::Digest& digest) {
  return {digest[0] % kShards, (static_cast<std::size_t>(digest[1]) << 8 | digest[2]) % kSlots};
}

std::optional<auth::JwtResult> TokenCache::find(const auth::Digest& digest, int64_t now_s,
                                                int64_t leeway_s) const {
  const auto [shard_index, slot] = place(digest);
  const Shard& shard = shards_[shard_index];
  const std::lock_guard lock(shard.mutex);
  const Entry& entry = shard.entries[slot];
  if (!entry.used || CRYPTO_memcmp(entry.digest.data(), digest.data(), digest.size()) != 0) {
    return std::nullopt;
  }
  if (entry.result.exp && now_s >= *entry.result.exp + leeway_s) return std::nullopt;
  return entry.result;
}

void TokenCache::insert(const auth::Digest& digest, const auth::JwtResult& result) {
  std::size_t bytes = 0;
  for (const auto& [name, value] : result.claims)
    bytes += name.size() + value.size();
  if (bytes > kMaxClaimBytes) return;
  const auto [shard_index, slot] = place(digest);
  Shard& shard = shards_[shard_index];
  const std::lock_guard lock(shard.mutex);
  Entry& entry = shard.entries[slot];
  entry.used = true;
  entry.digest = digest;
  entry.result = result;
}

} // namespace wsgate::proxy::policy
