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

// Everything the workers counted, summed: a field for each entry of the lists in stats.h. Map
// keys are metrics::key() label values, in the order those lists give.
// The field macros below take a declarator, which cannot be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
struct Totals {
#define WSGATE_FIELD(name) std::array<std::array<uint64_t, kOpcodes>, kDirections> name{};
  WSGATE_OPCODE_COUNTS(WSGATE_FIELD)
#undef WSGATE_FIELD
#define WSGATE_FIELD(name) std::array<uint64_t, kDirections> name{};
  WSGATE_DIRECTION_COUNTS(WSGATE_FIELD)
#undef WSGATE_FIELD
#define WSGATE_FIELD(name) uint64_t name = 0;
  WSGATE_SCALAR_COUNTS(WSGATE_FIELD)
#undef WSGATE_FIELD
#define WSGATE_FIELD(name) HistogramSum name{kLatencyBounds};
  WSGATE_LATENCY_HISTOGRAMS(WSGATE_FIELD)
#undef WSGATE_FIELD
  std::array<uint64_t, auth::kFailureCount> auth_results{};
  std::vector<uint64_t> loop_lag_us;
  std::vector<uint64_t> io_uring; // per worker: 1 io_uring, 0 epoll
#define WSGATE_FIELD(name) std::map<std::string, uint64_t> name;
  WSGATE_KEYED_COUNTS(WSGATE_FIELD)
#undef WSGATE_FIELD
#define WSGATE_FIELD(name) std::map<std::string, HistogramSum> name;
  WSGATE_KEYED_HISTOGRAMS(WSGATE_FIELD)
#undef WSGATE_FIELD
};
// NOLINTEND(bugprone-macro-parentheses)

// Adds one worker's counters to `t` (takes the worker's mutex for its maps).
void sumWorker(WorkerStats& stats, Totals& t);
// Every worker's counters, summed.
Totals sumWorkers(const std::vector<WorkerStats*>& workers);
// Creates at zero the series the configuration makes known (listeners, routes, pools,
// backends, every close code, violation, reject reason and handshake status).
void seedKnownSeries(const config::Config& config, Totals& t);

} // namespace wsgate::proxy::metrics
