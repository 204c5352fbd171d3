#pragma once

#include "common/config/config.h"

#include <cstdint>
#include <functional>
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
  // Called (outside the lock, on the thread that recorded it) whenever a backend goes down or
  // up; the balancers' run-time state follows through it. Set once, before any connect.
  using Observer = std::function<void(std::string_view pool, std::string_view backend, bool up)>;
  void setObserver(Observer observer) { observer_ = std::move(observer); }
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

  Observer observer_;
  mutable std::mutex mutex_;
  std::map<std::string, State> states_; // by metrics::key({pool, backend}); up ones are absent
};

} // namespace wsgate::proxy::metrics
