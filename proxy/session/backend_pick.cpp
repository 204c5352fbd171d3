// What a session gives the balancer (the hash key) and what it answers when no backend of the
// pool can take it.
#include "common/balance/hash.h"
#include "common/balance/pick.h"
#include "common/balance/request_key.h"
#include "proxy/session/session.h"

#include <string>
#include <uv.h>

namespace wsgate::proxy {

// The pool's hash_key from the request; a request without it (no such header, cookie or
// query parameter) is hashed by its client IP, so it still sticks to one backend.
std::optional<uint64_t> Session::hashKeyOf(const http::Request& request) const {
  const std::string ip = clientIp();
  const balance::RequestView view{ip, handshake_->target, path_, &request.headers};
  const auto key = balance::hashKeyOf(pool_->hash_key, view);
  return balance::hash64(key ? *key : std::string_view(ip));
}

// 503 with a jittered Retry-After: every backend is down or at its max_connections (or the
// pool has none, which DNS discovery can cause).
void Session::rejectUnavailable(std::size_t listed, std::size_t down, std::size_t full) {
  thread_local balance::Rng rng(uv_hrtime() ^ reinterpret_cast<uintptr_t>(&rng));
  const uint64_t retry = balance::jitteredSeconds(pool_->retry_after.count(), rng.unit());
  std::string why = "no backend of pool '" + pool_->name + "' can take a session now: ";
  if (listed == 0) {
    why += "the pool has no backends";
  } else {
    why += std::to_string(listed) + (listed == 1 ? " backend, " : " backends, ") +
           std::to_string(down) + " down, " + std::to_string(full) + " full (max_connections)";
  }
  why += "; retry after " + std::to_string(retry) + "s";
  reject(503, why, Termination::NoBackendAvailable, {{"Retry-After", std::to_string(retry)}});
}

} // namespace wsgate::proxy
