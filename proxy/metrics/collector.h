#pragma once

#include "common/config/config.h"
#include "proxy/metrics/backend_health.h"
#include "proxy/metrics/process_stats.h"
#include "proxy/metrics/stats.h"

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
class Collector final : public prometheus::Collectable {
public:
  struct Sources {
    std::vector<WorkerStats*> workers; // index i: worker i
    const ServerStats* server = nullptr;
    const BackendHealth* health = nullptr;
    const std::atomic<bool>* draining = nullptr;
    std::function<std::shared_ptr<const config::Config>()> config;
    double start_time_s = 0; // unix time the process started
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
