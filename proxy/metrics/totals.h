#pragma once

#include "common/config/config.h"
#include "proxy/metrics/stats.h"

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace wsgate::proxy::metrics {

// A histogram summed over workers: non-cumulative bucket counts (the last one above every bound).
struct HistogramSum {
  std::vector<double> bounds;
  std::vector<uint64_t> buckets;
  double sum = 0;

  template <std::size_t N>
  explicit HistogramSum(const std::array<double, N>& b)
      : bounds(b.begin(), b.end()), buckets(N + 1, 0) {}
  template <std::size_t N> void add(const Histogram<N>& h) {
    for (std::size_t i = 0; i <= N && i < buckets.size(); ++i)
      buckets[i] += h.bucket(i);
    sum += h.sum();
  }
};

// Everything the workers counted, summed. Map keys are metrics::key() label values, in the
// order the WorkerStats comments give.
struct Totals {
  std::array<std::array<uint64_t, kOpcodes>, kDirections> frames{};
  std::array<std::array<uint64_t, kOpcodes>, kDirections> messages{};
  std::array<uint64_t, kDirections> payload_bytes{};
  std::array<uint64_t, kDirections> compressed_messages{};
  std::array<uint64_t, kDirections> compressed_payload_bytes{};
  std::array<uint64_t, kDirections> inflated_bytes{};
  uint64_t pings_sent = 0;
  uint64_t pongs_received = 0;
  uint64_t heartbeat_timeouts = 0;
  HistogramSum ping_rtt{kLatencyBounds};
  HistogramSum handshake_duration{kLatencyBounds};
  std::array<uint64_t, auth::kFailureCount> auth_results{};
  uint64_t handshakes_rate_limited = 0;
  uint64_t token_expired_closes = 0;
  std::vector<uint64_t> loop_lag_us;
  std::vector<uint64_t> io_uring; // per worker: 1 io_uring, 0 epoll
  std::map<std::string, uint64_t> accepted;
  std::map<std::string, uint64_t> active;
  std::map<std::string, uint64_t> rejected;
  std::map<std::string, uint64_t> handshakes;
  std::map<std::string, uint64_t> sessions_active;
  std::map<std::string, uint64_t> closes;
  std::map<std::string, uint64_t> violations;
  std::map<std::string, uint64_t> backend_active;
  std::map<std::string, uint64_t> connect_failures;
  std::map<std::string, uint64_t> shed;
  std::map<std::string, HistogramSum> connect_duration;
  std::map<std::string, HistogramSum> session_duration;
};

// Adds one worker's counters to `t` (takes the worker's mutex for its maps).
void sumWorker(WorkerStats& stats, Totals& t);
// Every worker's counters, summed.
Totals sumWorkers(const std::vector<WorkerStats*>& workers);
// Creates at zero the series the configuration makes known (listeners, routes, pools,
// backends, every close code, violation, reject reason and handshake status).
void seedKnownSeries(const config::Config& config, Totals& t);

} // namespace wsgate::proxy::metrics
