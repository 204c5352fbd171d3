#pragma once

#include "proxy/balancer/health_probe.h"
#include "proxy/core/buffer_pool.h"
#include "proxy/server/shared_state.h"

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <uv.h>

namespace wsgate::proxy {

// Health probes, on the main loop (never a worker's). A pool with a [pools.health] table gets a
// WebSocket upgrade probe of each backend every `interval` (HealthProbe); the verdicts go to
// metrics::BackendHealth, where every worker sees them at once. A pool without one is judged by
// its sessions' connects; a backend of it that is down gets one TCP connect a second (under the
// pool's connect_timeout), so that it can come back once /readyz has stopped the traffic that
// would show it.
class BackendProber final : public HealthProbeOwner {
public:
  static constexpr uint64_t kTickMs = 100;
  static constexpr uint64_t kRecoveryIntervalMs = 1000;

  BackendProber(uv_loop_t* loop, SharedState& shared) : loop_(loop), shared_(shared) {}
  ~BackendProber() = default;
  BackendProber(const BackendProber&) = delete;
  BackendProber& operator=(const BackendProber&) = delete;

  void start();
  // Stops probing; probes in flight are closed and their outcome is not recorded.
  void close();

  void onProbeVerdict(HealthProbe& probe, bool healthy, const std::string& reason) override;
  void onProbeGone(HealthProbe& probe) override;

private:
  void tick();
  void probePool(const config::Pool& pool, uint64_t now);
  void startProbe(const config::Pool& pool, const config::Backend& backend, const std::string& id);

  uv_loop_t* loop_;
  SharedState& shared_;
  BufferPool buffers_{8};
  uv_timer_t timer_{};
  bool started_ = false;
  bool closed_ = false;
  std::map<std::string, HealthProbe*> judging_; // not judged yet, by metrics::key({pool, backend})
  std::map<std::string, uint64_t> next_due_;    // when each backend is probed next
  std::set<HealthProbe*> live_;                 // every probe whose stream is open
  std::shared_ptr<const config::Config> probed_config_; // next_due_ holds its backends only
};

} // namespace wsgate::proxy
