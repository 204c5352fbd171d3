#include "proxy/metrics/totals.h"

#include "proxy/metrics/names.h"

#include <mutex>

namespace wsgate::proxy::metrics {

namespace {

void addAll(std::map<std::string, uint64_t>& into, const std::map<std::string, uint64_t>& from) {
  for (const auto& [k, v] : from)
    into[k] += v;
}

template <std::size_t N>
void addAll(std::map<std::string, HistogramSum>& into,
            const std::map<std::string, Histogram<N>>& from) {
  for (const auto& [k, h] : from)
    into.try_emplace(k, h.bounds()).first->second.add(h);
}

} // namespace

void sumWorker(WorkerStats& stats, Totals& t) {
  for (std::size_t d = 0; d < kDirections; ++d) {
    for (std::size_t op = 0; op < kOpcodes; ++op) {
#define WSGATE_ADD(name) t.name[d][op] += stats.name[d][op].get();
      WSGATE_OPCODE_COUNTS(WSGATE_ADD)
#undef WSGATE_ADD
    }
#define WSGATE_ADD(name) t.name[d] += stats.name[d].get();
    WSGATE_DIRECTION_COUNTS(WSGATE_ADD)
#undef WSGATE_ADD
  }
#define WSGATE_ADD(name) t.name += stats.name.get();
  WSGATE_SCALAR_COUNTS(WSGATE_ADD)
#undef WSGATE_ADD
#define WSGATE_ADD(name) t.name.add(stats.name);
  WSGATE_LATENCY_HISTOGRAMS(WSGATE_ADD)
#undef WSGATE_ADD
  for (std::size_t i = 0; i < auth::kFailureCount; ++i)
    t.auth_results[i] += stats.auth_results[i].get();
  t.loop_lag_us.push_back(stats.loop_lag_us.get());
  t.io_uring.push_back(stats.io_uring.get());
  std::lock_guard lock(stats.mutex);
#define WSGATE_ADD(name) addAll(t.name, stats.name);
  WSGATE_KEYED_COUNTS(WSGATE_ADD)
  WSGATE_KEYED_HISTOGRAMS(WSGATE_ADD)
#undef WSGATE_ADD
}

// Series the configuration makes known exist at zero before anything happened to them.
void seedKnownSeries(const config::Config& config, Totals& t) {
  for (const config::Listener& listener : config.listeners) {
    t.accepted.try_emplace(listener.name, 0);
    t.active.try_emplace(listener.name, 0);
    for (const std::string_view reason : kRejectReasons)
      t.rejected.try_emplace(key({listener.name, reason}), 0);
    for (const int status : kHandshakeStatuses)
      t.handshakes.try_emplace(key({listener.name, std::to_string(status)}), 0);
  }
  for (const config::Route& route : config.routes) {
    t.sessions_active.try_emplace(key({route.name, config.pools[route.pool_index].name}), 0);
    t.session_duration.try_emplace(route.name, kSessionBounds);
  }
  for (const config::Pool& pool : config.pools) {
    t.connect_duration.try_emplace(pool.name, kLatencyBounds);
    t.shed.try_emplace(key({pool.name, "overload"}), 0);
    t.shed.try_emplace(key({pool.name, "removed"}), 0);
    for (const config::Backend& backend : pool.backends) {
      const std::string id = key({pool.name, backendLabel(backend)});
      t.backend_active.try_emplace(id, 0);
      t.connect_failures.try_emplace(id, 0);
    }
  }
  for (const std::string_view leg : kLegs) {
    for (const std::string_view by : kClosedBy) {
      for (const std::string_view code : kCloseCodeLabels)
        t.closes.try_emplace(key({leg, by, code}), 0);
    }
  }
  for (const ViolationKind& v : kViolationKinds) {
    t.violations.try_emplace(key({v.kind, "client"}), 0);
    if (v.backend_can_offend) t.violations.try_emplace(key({v.kind, "backend"}), 0);
  }
}

Totals sumWorkers(const std::vector<WorkerStats*>& workers) {
  Totals totals;
  for (WorkerStats* stats : workers)
    sumWorker(*stats, totals);
  return totals;
}

} // namespace wsgate::proxy::metrics
