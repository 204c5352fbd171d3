#pragma once

#include "proxy/policy/auth_set.h"
#include "proxy/policy/handshake_limiter.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace wsgate::proxy::policy {

// What the admission checks share over every worker: the handshake rate limiter, the per-IP
// connection counts and the [auth.NAME] tables. Thread-safe; never touched per frame.
class AdmissionState {
public:
  // The keys and token files of the [auth.NAME] tables. The server stores them before the
  // config that names them, so a session that read a config finds them.
  std::shared_ptr<const AuthSet> auth() const { return auth_.load(); }
  void setAuth(std::shared_ptr<const AuthSet> auth) { auth_.store(std::move(auth)); }

  // Counts a session from `ip` against a per-IP limit (0 = unlimited); false when over it.
  bool admitIp(const std::string& ip, uint64_t limit);
  void releaseIp(const std::string& ip);

  // max_handshakes_per_second_per_ip, over all workers.
  HandshakeLimiter handshake_limiter;

private:
  std::atomic<std::shared_ptr<const AuthSet>> auth_;
  std::mutex ip_mutex_;
  std::unordered_map<std::string, uint64_t> per_ip_;
};

} // namespace wsgate::proxy::policy
