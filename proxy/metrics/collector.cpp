#include "proxy/metrics/collector.h"

#include "proxy/metrics/family.h"
#include "proxy/metrics/names.h"
#include "proxy/metrics/process_stats.h"
#include "proxy/metrics/totals.h"

#include <map>
#include <prometheus/text_serializer.h>
#include <sstream>

namespace wsgate::proxy::metrics {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using LabelNames = std::vector<std::string_view>;

std::vector<ClientMetric::Label> labels(const LabelNames& names, std::string_view id) {
  std::vector<ClientMetric::Label> out;
  if (names.empty()) return out;
  const std::vector<std::string_view> values = splitKey(id);
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i)
    out.push_back({std::string(names[i]), std::string(values[i])});
  return out;
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

// A counter family with one series per direction.
MetricFamily directionFamily(std::string_view name, std::string_view help,
                             const std::array<uint64_t, kDirections>& values) {
  MetricFamily f = family(name, help, MetricType::Counter);
  for (std::size_t d = 0; d < kDirections; ++d) {
    f.metric.push_back(sample({{std::string(label::kDirection), std::string(kDirectionNames[d])}},
                              MetricType::Counter, static_cast<double>(values[d])));
  }
  return f;
}

// A counter family with one series per direction and opcode of `opcodes`.
template <std::size_t N>
MetricFamily opcodeFamily(std::string_view name, std::string_view help,
                          const std::array<OpcodeName, N>& opcodes,
                          const std::array<std::array<uint64_t, kOpcodes>, kDirections>& values) {
  MetricFamily f = family(name, help, MetricType::Counter);
  for (std::size_t d = 0; d < kDirections; ++d) {
    for (const OpcodeName& op : opcodes) {
      f.metric.push_back(sample({{std::string(label::kDirection), std::string(kDirectionNames[d])},
                                 {std::string(label::kOpcode), std::string(op.name)}},
                                MetricType::Counter, static_cast<double>(values[d][op.opcode])));
    }
  }
  return f;
}

void addDataPath(std::vector<MetricFamily>& out, const Totals& t) {
  out.push_back(opcodeFamily(name::kFrames,
                             "WebSocket frames read from each side, by opcode (pongs answering "
                             "wsgate's pings included).",
                             kFrameOpcodes, t.frames));
  out.push_back(
      opcodeFamily(name::kMessages,
                   "WebSocket data messages read from each side (counted at their first frame).",
                   kMessageOpcodes, t.messages));
  out.push_back(directionFamily(name::kPayloadBytes,
                                "Payload bytes of the WebSocket frames read from each side.",
                                t.payload_bytes));
  // permessage-deflate.
  out.push_back(directionFamily(name::kCompressedMessages,
                                "Compressed (permessage-deflate) messages read from each side.",
                                t.compressed_messages));
  out.push_back(directionFamily(
      name::kCompressedPayloadBytes,
      "Payload bytes of compressed messages as read from each side (before inflating).",
      t.compressed_payload_bytes));
  out.push_back(directionFamily(
      name::kInflatedBytes,
      "Bytes compressed messages from each side inflated to (inspected, never forwarded).",
      t.inflated_bytes));
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

void addAdmission(std::vector<MetricFamily>& out, const Totals& t) {
  MetricFamily results =
      family(name::kAuthResults,
             "Authentication results of upgrades on routes with auth, by result (ok or why the "
             "token was refused).",
             MetricType::Counter);
  for (const auth::Failure failure : auth::kAllFailures) {
    results.metric.push_back(sample(
        {{std::string(label::kResult), std::string(auth::label(failure))}}, MetricType::Counter,
        static_cast<double>(t.auth_results[static_cast<std::size_t>(failure)])));
  }
  out.push_back(std::move(results));
  addScalar(out, name::kAuthExpiredCloses,
            "Sessions closed with 4001 because the client's token expired.", MetricType::Counter,
            static_cast<double>(t.token_expired_closes));
  addScalar(out, name::kHandshakesRateLimited,
            "Upgrades refused with 429 by max_handshakes_per_second_per_ip.", MetricType::Counter,
            static_cast<double>(t.handshakes_rate_limited));
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
  addMap(out, name::kSessionsShed,
         "Sessions closed to move them: from an overloaded backend after the pool grew "
         "(overload), or from a backend that left the pool (removed).",
         MetricType::Counter, {label::kPool, label::kReason}, t.shed);
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
  MetricFamily io = family(name::kWorkerIoEngine,
                           "The socket engine of each worker (epoll or io_uring); the value is 1.",
                           MetricType::Gauge);
  for (std::size_t w = 0; w < t.io_uring.size(); ++w) {
    io.metric.push_back(
        sample({{std::string(label::kWorker), std::to_string(w)},
                {std::string(label::kEngine), t.io_uring[w] ? "io_uring" : "epoll"}},
               MetricType::Gauge, 1));
  }
  out.push_back(std::move(io));
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
  addAdmission(out, totals);
  addBackends(out, totals, *config, *sources_.health);
  if (sources_.balancers) addBalancerFamilies(out, sources_.balancers());
  addProcess(out, sources_, process_.sample(), totals);
  return out;
}

std::string Collector::text() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, Collect());
  return out.str();
}

} // namespace wsgate::proxy::metrics
