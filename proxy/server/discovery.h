#pragma once

#include "common/config/config.h"
#include "proxy/server/shared_state.h"
#include "proxy/transport/lookup.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <uv.h>
#include <vector>

namespace wsgate::proxy {

// DNS discovery (`discovery = "dns"`), on the main loop: every resolve_interval each backend's
// host of such a pool is resolved (uv_getaddrinfo: libuv's thread pool, never a worker loop),
// and every A/AAAA address it gives is a backend with the configured port and scheme. When the
// pool's set of addresses changes, `changed` gets the whole new list. A name that fails to
// resolve (or takes longer than the round's deadline) keeps its last known addresses and logs
// `discovery_failed`; before its first answer the configured name itself stands for it.
class DnsDiscovery {
public:
  using Changed = std::function<void(const std::string& pool, std::vector<config::Backend>)>;
  static constexpr uint64_t kTickMs = 100;

  DnsDiscovery(uv_loop_t* loop, SharedState& shared, Changed changed)
      : loop_(loop), shared_(shared), changed_(std::move(changed)) {}
  ~DnsDiscovery();
  DnsDiscovery(const DnsDiscovery&) = delete;
  DnsDiscovery& operator=(const DnsDiscovery&) = delete;

  void start();
  void close();
  // The pools to resolve, as the configuration file writes them (at start and each reload).
  void configure(const config::Config& file);
  // The backends of `pool` (as a reload loads it) from the last answers: each configured
  // backend stands for its last known addresses, or for itself before its first answer. The
  // configured list for a static pool. Later changes are measured against this list.
  std::vector<config::Backend> backendsOf(const config::Pool& pool);

private:
  // One name of one round.
  struct Query final : LookupEvents {
    DnsDiscovery* owner = nullptr;
    std::string pool;
    config::Backend source; // the configured backend
    Lookup lookup;
    bool answered = false;

    void onLookup(int status, const addrinfo* result) override {
      owner->onAnswer(*this, status, result);
    }
  };
  struct PoolState {
    config::Pool source; // as configured: the names to resolve
    uint64_t due_ms = 0;
    uint64_t deadline_ms = 0;
    std::vector<std::unique_ptr<Query>> queries; // the round in flight
    std::size_t pending = 0;
    // By the configured backend's text: its last known addresses.
    std::map<std::string, std::vector<config::Backend>> known;
    std::vector<config::Backend> current; // what `changed` was last told
  };

  void tick();
  void startRound(PoolState& state, uint64_t now);
  void onAnswer(Query& query, int status, const addrinfo* result);
  void finishRound(PoolState& state);
  static std::vector<config::Backend> expand(const config::Pool& pool, const PoolState& state);

  uv_loop_t* loop_;
  SharedState& shared_;
  Changed changed_;
  uv_timer_t timer_{};
  bool started_ = false;
  bool closed_ = false;
  std::map<std::string, PoolState> pools_;
};

} // namespace wsgate::proxy
