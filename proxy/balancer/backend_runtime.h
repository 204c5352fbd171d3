#pragma once

#include "common/config/values.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace wsgate::proxy {

// Milliseconds on the steady clock, always > 0: the time base of joined_ms().
int64_t steadyNowMs();

// The run-time state of one backend of one pool, shared by every worker: how many sessions
// are bound to it, whether it is up, its weight and limit, when it joined or recovered.
//
// Identity is (pool, identity()): the scheme and the normalised "host:port". An entry lives as
// long as its pool lists it or a session holds it (shared_ptr), so a session always releases
// the entry it acquired, even after a reload or DNS removed the backend; if the same identity
// comes back while the entry lives, the pool reuses it with its counts.
//
// Every field a pick reads is an atomic: workers read them without a lock. The counts are
// exact (every acquire is matched by one release); the view a pick takes of several backends
// is not a snapshot, which the algorithms tolerate.
class BackendRuntime {
public:
  BackendRuntime(std::string pool, config::Backend backend);
  BackendRuntime(const BackendRuntime&) = delete;
  BackendRuntime& operator=(const BackendRuntime&) = delete;
  ~BackendRuntime() = default;

  // "ws://host:port" or "wss://host:port", host lower-case, IPv6 in brackets.
  static std::string identityOf(const config::Backend& backend);

  const std::string& pool() const { return pool_; }
  // The address to connect to, as first listed. Never changes.
  const config::Backend& backend() const { return backend_; }
  const std::string& identity() const { return identity_; }
  // The metrics and health label: "host:port" (metrics::backendLabel).
  const std::string& label() const { return label_; }
  // hash64(identity()): the same on every replica.
  uint64_t identityHash() const { return identity_hash_; }

  // Live sessions bound to this backend, all workers.
  uint64_t live() const { return live_.load(std::memory_order_relaxed); }
  // Binds one more session unless `limit` (> 0) sessions are bound already; false when full.
  bool tryAcquire(uint64_t limit);
  // Unbinds one session; matches a successful tryAcquire().
  void release() { live_.fetch_sub(1, std::memory_order_relaxed); }

  bool up() const { return up_.load(std::memory_order_relaxed); }
  // A change from down to up restarts the slow-start ramp at `now_ms`.
  void setUp(bool up, int64_t now_ms);

  uint32_t weight() const { return weight_.load(std::memory_order_relaxed); }
  uint64_t maxConnections() const { return max_connections_.load(std::memory_order_relaxed); }
  // From the latest list that named this backend (reload, DNS).
  void setLimits(uint32_t weight, uint64_t max_connections);

  // When the backend joined its pool or last recovered (steadyNowMs()); 0 = it was there from
  // the start, no ramp.
  int64_t joinedMs() const { return joined_ms_.load(std::memory_order_relaxed); }
  void setJoined(int64_t now_ms) { joined_ms_.store(now_ms, std::memory_order_relaxed); }

  // True once the pool no longer lists it (its sessions may still be live).
  bool removed() const { return removed_.load(std::memory_order_relaxed); }
  void setRemoved(bool removed) { removed_.store(removed, std::memory_order_relaxed); }

  // Counters for metrics: sessions bound by a pick, and picks that passed this backend over.
  void countPick() const { picks_.fetch_add(1, std::memory_order_relaxed); }
  enum class Skip { Down, Full, BoundedLoad };
  void countSkip(Skip why) const;
  uint64_t picks() const { return picks_.load(std::memory_order_relaxed); }
  uint64_t skips(Skip why) const;

private:
  const std::string pool_;
  const config::Backend backend_;
  const std::string identity_;
  const std::string label_;
  const uint64_t identity_hash_;
  std::atomic<uint64_t> live_{0};
  std::atomic<bool> up_{true};
  std::atomic<uint32_t> weight_{1};
  std::atomic<uint64_t> max_connections_{0};
  std::atomic<int64_t> joined_ms_{0};
  std::atomic<bool> removed_{false};
  mutable std::atomic<uint64_t> picks_{0};
  mutable std::atomic<uint64_t> skip_down_{0};
  mutable std::atomic<uint64_t> skip_full_{0};
  mutable std::atomic<uint64_t> skip_bounded_{0};
};

// Binds a session to a backend for as long as the lease lives: releases on destruction.
class BackendLease {
public:
  BackendLease() = default;
  explicit BackendLease(std::shared_ptr<BackendRuntime> backend) : backend_(std::move(backend)) {}
  BackendLease(BackendLease&& other) noexcept : backend_(std::move(other.backend_)) {}
  BackendLease& operator=(BackendLease&& other) noexcept {
    if (this != &other) {
      reset();
      backend_ = std::move(other.backend_);
    }
    return *this;
  }
  BackendLease(const BackendLease&) = delete;
  BackendLease& operator=(const BackendLease&) = delete;
  ~BackendLease() { reset(); }

  void reset() {
    if (backend_) backend_->release();
    backend_.reset();
  }
  BackendRuntime* get() const { return backend_.get(); }
  const std::shared_ptr<BackendRuntime>& shared() const { return backend_; }
  explicit operator bool() const { return backend_ != nullptr; }
  BackendRuntime* operator->() const { return backend_.get(); }

private:
  std::shared_ptr<BackendRuntime> backend_;
};

} // namespace wsgate::proxy
