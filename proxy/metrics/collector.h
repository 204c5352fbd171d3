#pragma once

#include "common/config/config.h"
#include "proxy/metrics/backend_health.h"
#include "proxy/metrics/process_stats.h"
#include "proxy/metrics/stats.h"

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <string>
#include <vector>

namespace wsgate::proxy::metrics {

// Turns the plain per-worker counters into Prometheus metric families at scrape time: sums every
// worker's WorkerStats, adds the process-wide state (reloads, backend health, draining, process
// resources) and creates at zero every series whose labels the configuration makes known, so
// rate() and absent-series alerts work from the first scrape. The data path never touches a
// prometheus-cpp object.
// One backend as the balancers see it, at scrape time (BalancerState).
struct BalancerSample {
  std::string pool;
  std::string backend; // backendLabel(): "host:port"
  uint64_t live = 0;   // sessions bound to it, all workers (connecting ones included)
  uint64_t picks = 0;
  std::array<uint64_t, 3> skips{}; // by kSkipReasons
  double effective_weight = 0;     // weight x slow-start ramp; 0 while down
};

// Appends wsgate_backend_live_sessions, _picks_total, _skips_total and _effective_weight.
void addBalancerFamilies(std::vector<prometheus::MetricFamily>& out,
                         const std::vector<BalancerSample>& samples);

class Collector final : public prometheus::Collectable {
public:
  struct Sources {
    std::vector<WorkerStats*> workers; // index i: worker i
    const ServerStats* server = nullptr;
    const BackendHealth* health = nullptr;
    const std::atomic<bool>* draining = nullptr;
    std::function<std::shared_ptr<const config::Config>()> config;
    std::function<std::vector<BalancerSample>()> balancers; // may be empty
    double start_time_s = 0;                                // unix time the process started
  };

  explicit Collector(Sources sources) : sources_(std::move(sources)) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

  // The text exposition format (version 0.0.4) of Collect().
  std::string text() const;

private:
  Sources sources_;
  ProcessSampler process_;
};

} // namespace wsgate::proxy::metrics
