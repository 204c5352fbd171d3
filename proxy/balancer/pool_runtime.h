#pragma once

#include "common/balance/maglev.h"
#include "common/config/config.h"
#include "proxy/balancer/backend_runtime.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::proxy {

// The backends of a pool at one moment, immutable once published: sorted by identity, with
// the consistent-hash table over them (slot values index `backends`).
struct PoolSnapshot {
  uint64_t generation = 0;
  std::vector<std::shared_ptr<BackendRuntime>> backends;
  balance::MaglevTable table{{}};
};

// The run-time backends of one pool, shared by every worker. Which backends it has comes from
// setBackends(): the config's list on start and reload, or the addresses DNS discovery
// resolved. Entries with the same identity survive every change with their live count, health
// and join time.
//
// Workers read without a lock on the pick path: generation() is an atomic; only when it moved
// does a worker take the mutex once to copy the new snapshot (Balancer does this).
class PoolRuntime {
public:
  explicit PoolRuntime(std::string name) : name_(std::move(name)) {}

  const std::string& name() const { return name_; }

  struct Change {
    std::vector<std::shared_ptr<BackendRuntime>> added;   // new identities (joined now)
    std::vector<std::shared_ptr<BackendRuntime>> removed; // no longer listed (removed() set)
  };
  // Makes `backends` the pool's list. An identity already listed keeps its entry (weight and
  // max_connections are updated); a new one gets an entry that joins now (slow start), except
  // on the pool's first list; one no longer listed is marked removed and dropped from the
  // snapshot. `initially_up(label)` gives a new entry's health. Thread-safe.
  Change setBackends(const std::vector<config::Backend>& backends,
                     const std::function<bool(std::string_view label)>& initially_up);

  // Changes with every setBackends() that changed the set of backends.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  std::shared_ptr<const PoolSnapshot> snapshot() const;
  // The listed entry with this identity (BackendRuntime::identityOf), or nullptr.
  std::shared_ptr<BackendRuntime> find(std::string_view identity) const;
  // Every entry alive: the listed ones and removed ones that sessions still hold, by identity.
  std::vector<std::shared_ptr<BackendRuntime>> entries() const;
  // Sets the health of every listed entry whose label is `label` ("host:port").
  void setUp(std::string_view label, bool up, int64_t now_ms);

private:
  const std::string name_;
  mutable std::mutex mutex_;
  std::shared_ptr<const PoolSnapshot> snapshot_ = std::make_shared<const PoolSnapshot>();
  std::atomic<uint64_t> generation_{0};
  // Every entry still alive (listed, or held by a session), by identity: a backend that
  // returns while its old sessions live gets its entry back.
  std::map<std::string, std::weak_ptr<BackendRuntime>, std::less<>> known_;
  bool listed_once_ = false;
};

// Every pool's run-time state, in SharedState. Pools are created on first sight and never
// destroyed, so a PoolRuntime pointer stays valid for the life of the process; a reload that
// keeps a pool's name keeps its state (APISIX #12217 was a counter reset on reload).
class BalancerState {
public:
  // The pool named `name`, created empty when new.
  std::shared_ptr<PoolRuntime> pool(std::string_view name);
  // nullptr when no config ever named it.
  std::shared_ptr<PoolRuntime> find(std::string_view name) const;
  std::vector<std::shared_ptr<PoolRuntime>> pools() const;

  // Gives every pool of `config` its configured backends (static discovery).
  void applyConfig(const config::Config& config,
                   const std::function<bool(std::string_view pool, std::string_view label)>& up);
  // Health of (pool, "host:port") changed: every worker sees it at its next pick.
  void setUp(std::string_view pool, std::string_view label, bool up);

private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<PoolRuntime>, std::less<>> pools_;
};

} // namespace wsgate::proxy
