#include "proxy/metrics/collector.h"

#include "proxy/metrics/names.h"
#include "proxy/metrics/process_stats.h"

#include <map>
#include <prometheus/text_serializer.h>
#include <sstream>

namespace wsgate::proxy::metrics {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using LabelNames = std::vector<std::string_view>;

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

// Everything the workers counted, summed. Map keys are metrics::key() label values.
struct Totals {
  std::array<std::array<uint64_t, kOpcodes>, kDirections> frames{};
  std::array<std::array<uint64_t, kOpcodes>, kDirections> messages{};
  std::array<uint64_t, kDirections> payload_bytes{};
  uint64_t pings_sent = 0;
  uint64_t pongs_received = 0;
  uint64_t heartbeat_timeouts = 0;
  HistogramSum ping_rtt{kLatencyBounds};
  HistogramSum handshake_duration{kLatencyBounds};
  std::vector<uint64_t> loop_lag_us;
  std::map<std::string, uint64_t> accepted;
  std::map<std::string, uint64_t> active;
  std::map<std::string, uint64_t> rejected;
  std::map<std::string, uint64_t> handshakes;
  std::map<std::string, uint64_t> sessions_active;
  std::map<std::string, uint64_t> closes;
  std::map<std::string, uint64_t> violations;
  std::map<std::string, uint64_t> backend_active;
  std::map<std::string, uint64_t> connect_failures;
  std::map<std::string, HistogramSum> connect_duration;
  std::map<std::string, HistogramSum> session_duration;
};

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

void sumWorker(WorkerStats& stats, Totals& t) {
  for (std::size_t d = 0; d < kDirections; ++d) {
    for (std::size_t op = 0; op < kOpcodes; ++op) {
      t.frames[d][op] += stats.frames[d][op].get();
      t.messages[d][op] += stats.messages[d][op].get();
    }
    t.payload_bytes[d] += stats.payload_bytes[d].get();
  }
  t.pings_sent += stats.pings_sent.get();
  t.pongs_received += stats.pongs_received.get();
  t.heartbeat_timeouts += stats.heartbeat_timeouts.get();
  t.ping_rtt.add(stats.ping_rtt);
  t.handshake_duration.add(stats.handshake_duration);
  t.loop_lag_us.push_back(stats.loop_lag_us.get());
  std::lock_guard lock(stats.mutex);
  addAll(t.accepted, stats.accepted);
  addAll(t.active, stats.active);
  addAll(t.rejected, stats.rejected);
  addAll(t.handshakes, stats.handshakes);
  addAll(t.sessions_active, stats.sessions_active);
  addAll(t.closes, stats.closes);
  addAll(t.violations, stats.violations);
  addAll(t.backend_active, stats.backend_active);
  addAll(t.connect_failures, stats.connect_failures);
  addAll(t.connect_duration, stats.connect_duration);
  addAll(t.session_duration, stats.session_duration);
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

MetricFamily family(std::string_view name, std::string_view help, MetricType type) {
  MetricFamily f;
  f.name = std::string(name);
  f.help = std::string(help);
  f.type = type;
  return f;
}

std::vector<ClientMetric::Label> labels(const LabelNames& names, std::string_view id) {
  std::vector<ClientMetric::Label> out;
  if (names.empty()) return out;
  const std::vector<std::string_view> values = splitKey(id);
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i)
    out.push_back({std::string(names[i]), std::string(values[i])});
  return out;
}

ClientMetric sample(std::vector<ClientMetric::Label> labels, MetricType type, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  if (type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return m;
}

ClientMetric histogramSample(std::vector<ClientMetric::Label> labels, const HistogramSum& h) {
  ClientMetric m;
  m.label = std::move(labels);
  uint64_t cumulative = 0;
  for (std::size_t i = 0; i < h.bounds.size(); ++i) {
    cumulative += h.buckets[i];
    m.histogram.bucket.push_back({cumulative, h.bounds[i]});
  }
  cumulative += h.buckets.back();
  m.histogram.sample_count = cumulative; // the serializer adds the +Inf bucket from it
  m.histogram.sample_sum = h.sum;
  return m;
}

// Appends a counter or gauge family with one series per map entry.
void addMap(std::vector<MetricFamily>& out, std::string_view name, std::string_view help,
            MetricType type, const LabelNames& names, const std::map<std::string, uint64_t>& map) {
  MetricFamily f = family(name, help, type);
  for (const auto& [id, value] : map)
    f.metric.push_back(sample(labels(names, id), type, static_cast<double>(value)));
  out.push_back(std::move(f));
}

void addHistograms(std::vector<MetricFamily>& out, std::string_view name, std::string_view help,
                   const LabelNames& names, const std::map<std::string, HistogramSum>& map) {
  MetricFamily f = family(name, help, MetricType::Histogram);
  for (const auto& [id, h] : map)
    f.metric.push_back(histogramSample(labels(names, id), h));
  out.push_back(std::move(f));
}

void addScalar(std::vector<MetricFamily>& out, std::string_view name, std::string_view help,
               MetricType type, double value) {
  MetricFamily f = family(name, help, type);
  f.metric.push_back(sample({}, type, value));
  out.push_back(std::move(f));
}

void addDataPath(std::vector<MetricFamily>& out, const Totals& t) {
  MetricFamily frames =
      family(name::kFrames,
             "WebSocket frames read from each side, by opcode (pongs answering wsgate's "
             "pings included).",
             MetricType::Counter);
  MetricFamily messages =
      family(name::kMessages,
             "WebSocket data messages read from each side (counted at their first frame).",
             MetricType::Counter);
  MetricFamily bytes =
      family(name::kPayloadBytes, "Payload bytes of the WebSocket frames read from each side.",
             MetricType::Counter);
  for (std::size_t d = 0; d < kDirections; ++d) {
    const std::string direction(kDirectionNames[d]);
    for (const OpcodeName& op : kFrameOpcodes) {
      frames.metric.push_back(sample({{std::string(label::kDirection), direction},
                                      {std::string(label::kOpcode), std::string(op.name)}},
                                     MetricType::Counter,
                                     static_cast<double>(t.frames[d][op.opcode])));
    }
    for (const OpcodeName& op : kMessageOpcodes) {
      messages.metric.push_back(sample({{std::string(label::kDirection), direction},
                                        {std::string(label::kOpcode), std::string(op.name)}},
                                       MetricType::Counter,
                                       static_cast<double>(t.messages[d][op.opcode])));
    }
    bytes.metric.push_back(sample({{std::string(label::kDirection), direction}},
                                  MetricType::Counter, static_cast<double>(t.payload_bytes[d])));
  }
  out.push_back(std::move(frames));
  out.push_back(std::move(messages));
  out.push_back(std::move(bytes));
}

void addConnections(std::vector<MetricFamily>& out, const Totals& t) {
  addMap(out, name::kConnectionsActive, "Client connections open now.", MetricType::Gauge,
         {label::kListener}, t.active);
  addMap(out, name::kConnectionsAccepted, "Client connections accepted.", MetricType::Counter,
         {label::kListener}, t.accepted);
  addMap(out, name::kConnectionsRejected,
         "Client connections answered with an HTTP error instead of 101, by reason.",
         MetricType::Counter, {label::kListener, label::kReason}, t.rejected);
  addMap(out, name::kHandshakes, "Handshakes answered, by the HTTP status sent to the client.",
         MetricType::Counter, {label::kListener, label::kStatus}, t.handshakes);
  addHistograms(out, name::kHandshakeDuration,
                "Time from a client's connection to the 101 sent to it.", {},
                {{"", t.handshake_duration}});
  addMap(out, name::kSessionsActive, "Open WebSocket sessions, by route and pool.",
         MetricType::Gauge, {label::kRoute, label::kPool}, t.sessions_active);
  addHistograms(out, name::kSessionDuration, "Lifetime of WebSocket sessions, from the 101.",
                {label::kRoute}, t.session_duration);
  addMap(out, name::kCloses,
         "Connections closed, by leg, by the side that closed first and by close code (1006: "
         "TCP ended without a close frame).",
         MetricType::Counter, {label::kLeg, label::kClosedBy, label::kCode}, t.closes);
  addMap(out, name::kPolicyViolations, "Policy and protocol violations, by kind and offender.",
         MetricType::Counter, {label::kKind, label::kOffender}, t.violations);
}

void addHeartbeats(std::vector<MetricFamily>& out, const Totals& t) {
  addScalar(out, name::kPingsSent, "Pings wsgate sent to clients.", MetricType::Counter,
            static_cast<double>(t.pings_sent));
  addScalar(out, name::kPongsReceived, "Pongs answering wsgate's pings.", MetricType::Counter,
            static_cast<double>(t.pongs_received));
  addScalar(out, name::kHeartbeatTimeouts, "Clients closed for not answering a ping in time.",
            MetricType::Counter, static_cast<double>(t.heartbeat_timeouts));
  addHistograms(out, name::kPingRtt, "Round-trip time of wsgate's pings to clients.", {},
                {{"", t.ping_rtt}});
}

void addBackends(std::vector<MetricFamily>& out, const Totals& t, const config::Config& config,
                 const BackendHealth& health) {
  MetricFamily up =
      family(name::kBackendUp, "1 unless the backend's last connects failed (see README).",
             MetricType::Gauge);
  for (const config::Pool& pool : config.pools) {
    for (const config::Backend& backend : pool.backends) {
      const std::string id = backendLabel(backend);
      up.metric.push_back(
          sample({{std::string(label::kPool), pool.name}, {std::string(label::kBackend), id}},
                 MetricType::Gauge, health.isUp(pool.name, id) ? 1 : 0));
    }
  }
  out.push_back(std::move(up));
  addMap(out, name::kBackendConnectionsActive, "Open WebSocket sessions to each backend.",
         MetricType::Gauge, {label::kPool, label::kBackend}, t.backend_active);
  addMap(out, name::kBackendConnectFailures,
         "Backend connects that failed (refused, unreachable or timed out).", MetricType::Counter,
         {label::kPool, label::kBackend}, t.connect_failures);
  addHistograms(out, name::kBackendConnectDuration, "Time to connect to a backend.", {label::kPool},
                t.connect_duration);
}

void addServer(std::vector<MetricFamily>& out, const Collector::Sources& s) {
  MetricFamily info =
      family(name::kBuildInfo, "wsgate's version; the value is always 1.", MetricType::Gauge);
  info.metric.push_back(
      sample({{std::string(label::kVersion), WSGATE_VERSION}}, MetricType::Gauge, 1));
  out.push_back(std::move(info));
  MetricFamily reloads = family(name::kConfigReloads, "Configuration reloads (SIGHUP), by result.",
                                MetricType::Counter);
  reloads.metric.push_back(sample({{std::string(label::kResult), "success"}}, MetricType::Counter,
                                  static_cast<double>(s.server->reloads_succeeded.get())));
  reloads.metric.push_back(sample({{std::string(label::kResult), "failure"}}, MetricType::Counter,
                                  static_cast<double>(s.server->reloads_failed.get())));
  out.push_back(std::move(reloads));
  addScalar(out, name::kConfigLastReloadSuccessful,
            "1 when the last reload succeeded (or none was tried), 0 when it failed.",
            MetricType::Gauge, static_cast<double>(s.server->last_reload_successful.get()));
  addScalar(out, name::kConfigLastReloadSuccessTime,
            "Unix time the running configuration was loaded.", MetricType::Gauge,
            static_cast<double>(s.server->last_reload_success_unix_ms.get()) / 1000.0);
  addScalar(out, name::kDraining, "1 while wsgate drains after SIGTERM or SIGQUIT.",
            MetricType::Gauge, s.draining->load() ? 1 : 0);
}

void addProcess(std::vector<MetricFamily>& out, const Collector::Sources& s, const ProcessSample& p,
                const Totals& t) {
  addScalar(out, name::kProcessStartTime, "Unix time the process started.", MetricType::Gauge,
            s.start_time_s);
  addScalar(out, name::kProcessCpu, "CPU time used by the process (user and system).",
            MetricType::Counter, p.cpu_seconds);
  addScalar(out, name::kProcessResidentMemory, "Resident memory of the process.", MetricType::Gauge,
            static_cast<double>(p.resident_bytes));
  addScalar(out, name::kProcessVirtualMemory, "Virtual memory of the process.", MetricType::Gauge,
            static_cast<double>(p.virtual_bytes));
  addScalar(out, name::kProcessOpenFds, "Open file descriptors.", MetricType::Gauge,
            static_cast<double>(p.open_fds));
  addScalar(out, name::kProcessMaxFds, "The open file descriptor limit (soft RLIMIT_NOFILE).",
            MetricType::Gauge, static_cast<double>(p.max_fds));
  addScalar(out, name::kWorkers, "Worker threads, each with its own event loop.", MetricType::Gauge,
            static_cast<double>(t.loop_lag_us.size()));
  MetricFamily lag = family(
      name::kLoopLag, "The largest delay of a worker's 25 ms timer over the last full second.",
      MetricType::Gauge);
  for (std::size_t w = 0; w < t.loop_lag_us.size(); ++w) {
    lag.metric.push_back(sample({{std::string(label::kWorker), std::to_string(w)}},
                                MetricType::Gauge, static_cast<double>(t.loop_lag_us[w]) / 1e6));
  }
  out.push_back(std::move(lag));
}

} // namespace

std::vector<MetricFamily> Collector::Collect() const {
  Totals totals;
  for (WorkerStats* stats : sources_.workers)
    sumWorker(*stats, totals);
  const auto config = sources_.config();
  seedKnownSeries(*config, totals);
  std::vector<MetricFamily> out;
  addServer(out, sources_);
  addConnections(out, totals);
  addDataPath(out, totals);
  addHeartbeats(out, totals);
  addBackends(out, totals, *config, *sources_.health);
  addProcess(out, sources_, process_.sample(), totals);
  return out;
}

std::string Collector::text() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, Collect());
  return out.str();
}

} // namespace wsgate::proxy::metrics
