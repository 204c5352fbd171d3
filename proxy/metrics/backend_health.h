#pragma once

#include "common/config/config.h"

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wsgate::proxy::metrics {

// Whether each backend is up, judged from the outcomes of connects to it: the sessions' connects
// and upgrades (passive) and the probes the main loop sends (BackendProber). A backend is
// up until `unhealthy_after` connects in a row fail, then down until `healthy_after` connects in
// a row succeed. The thresholds come from the pool's [pools.health] table, else 3 and 1.
// Thread-safe; touched once per backend connect, never per frame.
class BackendHealth {
public:
  struct Thresholds {
    uint32_t unhealthy_after = 3;
    uint32_t healthy_after = 1;
  };
  static Thresholds thresholdsFor(const config::Pool& pool);

  // Records one outcome for `backend` (its metrics::backendLabel) of `pool`: a session's connect
  // or answer, or a probe; `reason` says why it failed. Logs "backend_down" (with the reason of
  // the last failure) and "backend_up" when the state changes.
  void recordConnect(const config::Pool& pool, std::string_view backend, bool ok,
                     std::string_view reason = {});
  bool isUp(std::string_view pool, std::string_view backend) const;
  // False while every backend of every pool is up: the balancer's fast path (no lock).
  bool anyDown() const { return down_.load(std::memory_order_acquire) != 0; }
  // The (pool, backend) pairs that are down now.
  std::vector<std::pair<std::string, std::string>> downBackends() const;
  // The pools routed to in `config` that have no backend up; empty when every route can be
  // served.
  std::vector<std::string> poolsWithoutBackendUp(const config::Config& config) const;

private:
  struct State {
    uint32_t failures = 0;  // consecutive failed connects
    uint32_t successes = 0; // consecutive successful connects while down
    bool up = true;
  };

  std::atomic<uint32_t> down_{0}; // entries of states_ with up == false
  mutable std::mutex mutex_;
  std::map<std::string, State> states_; // by metrics::key({pool, backend}); up ones are absent
};

} // namespace wsgate::proxy::metrics
