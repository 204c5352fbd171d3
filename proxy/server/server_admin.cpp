// The admin endpoints of the Server (on the main loop): /livez and /healthz, /readyz, /metrics,
// /connections, the status page (/) and its /stats.json; and the monitoring state behind them.
#include "common/balance/pick.h"
#include "common/http/target.h"
#include "proxy/metrics/status_json.h"
#include "proxy/server/server.h"
#include "proxy/server/status_page.h"

#include <charconv>
#include <chrono>
#include <optional>
#include <string>

namespace wsgate::proxy {

namespace {

constexpr std::string_view kText = "text/plain; charset=utf-8";
constexpr std::string_view kJson = "application/json";
// The Prometheus text exposition format.
constexpr std::string_view kMetricsType = "text/plain; version=0.0.4; charset=utf-8";
// How long /connections waits for the workers' answers; a worker whose loop is stuck that long
// is reported as not answering rather than holding the admin endpoint.
constexpr auto kConnectionsTimeout = std::chrono::milliseconds(1000);

// The decoded value of `name` in a query string; nullopt when absent.
std::optional<std::string> queryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const std::size_t eq = pair.find('=');
    if (http::decodeQueryComponent(pair.substr(0, eq)) == name) {
      return eq == std::string_view::npos ? std::string()
                                          : http::decodeQueryComponent(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

uint64_t monotonicMillis() {
  return uv_hrtime() / 1000000;
}

uint64_t unixMillis() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

AdminServer::Response response(int status, std::string_view type, std::string body) {
  return {status, std::string(type), std::move(body)};
}

} // namespace

AdminServer::Response Server::adminResponse(std::string_view path, std::string_view query) {
  if (path == "/livez" || path == "/healthz") return response(200, kText, "ok\n");
  if (path == "/readyz") return readyResponse();
  if (path == "/metrics") {
    if (!collector_) return response(503, kText, "starting\n");
    return response(200, kMetricsType, collector_->text());
  }
  if (path == "/connections") return connectionsResponse(query);
  if (path == "/stats.json") return statsResponse();
  if (path == "/") return response(200, "text/html; charset=utf-8", std::string(statusPageHtml()));
  return response(404, kText, "not found; see / for the admin endpoints\n");
}

AdminServer::Response Server::readyResponse() const {
  if (shared_.draining.load()) return response(503, kText, "draining\n");
  const auto config = shared_.config();
  const std::vector<std::string> pools = shared_.backend_health.poolsWithoutBackendUp(*config);
  if (pools.empty()) return response(200, kText, "ready\n");
  std::string body;
  for (const std::string& pool : pools)
    body += "no backend up in pool '" + pool + "'\n";
  return response(503, kText, std::move(body));
}

AdminServer::Response Server::connectionsResponse(std::string_view query) {
  std::size_t limit = 0;
  if (const auto text = queryParam(query, "limit"); text && !text->empty()) {
    const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), limit);
    if (error != std::errc() || end != text->data() + text->size()) {
      return response(400, kText, "limit must be a non-negative integer\n");
    }
  }
  auto request = std::make_shared<metrics::ConnectionsRequest>(
      queryParam(query, "route").value_or(""), workers_.size());
  for (auto& worker : workers_) {
    if (!worker->requestConnections(request)) request->answer({}); // its loop has ended
  }
  const std::size_t answered = request->wait(kConnectionsTimeout);
  return response(200, kJson,
                  metrics::connectionsJson(request->take(), limit, workers_.size(), answered));
}

std::vector<metrics::WorkerStats*> Server::workerStats() {
  std::vector<metrics::WorkerStats*> out;
  for (auto& worker : workers_)
    out.push_back(&worker->stats());
  return out;
}

AdminServer::Response Server::statsResponse() {
  if (!monitoring_) return response(503, kText, "starting\n");
  const auto config = shared_.config();
  metrics::StatusInput input;
  input.config = config.get();
  input.totals = metrics::sumWorkers(workerStats());
  metrics::seedKnownSeries(*config, input.totals);
  input.health = &shared_.backend_health;
  input.rates = &rates_;
  input.listener_addresses = listener_addresses_;
  input.now_ms = monotonicMillis();
  input.uptime_s = static_cast<double>(input.now_ms - start_ms_) / 1000.0;
  input.workers = workers_.size();
  input.draining = shared_.draining.load();
  const AdminServer::Response ready = readyResponse();
  input.ready_status = ready.status;
  // One line per reason in /readyz; joined here.
  std::string_view body = ready.body;
  while (!body.empty() && body.back() == '\n')
    body.remove_suffix(1);
  for (const char c : body)
    input.ready_message += c == '\n' ? std::string("; ") : std::string(1, c);
  return response(200, kJson, metrics::statusJson(input));
}

std::vector<metrics::BalancerSample> Server::balancerSamples() const {
  std::vector<metrics::BalancerSample> out;
  const auto config = shared_.config();
  const int64_t now = steadyNowMs();
  for (const auto& pool : shared_.balancers.pools()) {
    int64_t window = 0;
    for (const config::Pool& configured : config->pools) {
      if (configured.name == pool->name()) window = configured.slow_start.count();
    }
    for (const auto& entry : pool->entries()) {
      metrics::BalancerSample s;
      s.pool = pool->name();
      s.backend = entry->label();
      s.live = entry->live();
      s.picks = entry->picks();
      s.skips = {entry->skips(BackendRuntime::Skip::Down), entry->skips(BackendRuntime::Skip::Full),
                 entry->skips(BackendRuntime::Skip::BoundedLoad)};
      const double ramp =
          entry->joinedMs() == 0 ? 1.0 : balance::slowStartFactor(now - entry->joinedMs(), window);
      s.effective_weight = entry->up() && !entry->removed() ? entry->weight() * ramp : 0.0;
      out.push_back(std::move(s));
    }
  }
  return out;
}

void Server::sampleRates() {
  rates_.push(metrics::rateSample(metrics::sumWorkers(workerStats()), monotonicMillis()));
}

void Server::startMonitoring() {
  const uint64_t now_ms = unixMillis();
  stats_.last_reload_successful.set(1);
  stats_.last_reload_success_unix_ms.set(now_ms);
  metrics::Collector::Sources sources;
  for (auto& worker : workers_)
    sources.workers.push_back(&worker->stats());
  sources.server = &stats_;
  sources.health = &shared_.backend_health;
  sources.draining = &shared_.draining;
  sources.config = [this] { return shared_.config(); };
  sources.balancers = [this] { return balancerSamples(); };
  sources.start_time_s = static_cast<double>(now_ms) / 1000.0;
  collector_ = std::make_unique<metrics::Collector>(std::move(sources));
  prober_ = std::make_unique<BackendProber>(&loop_, shared_);
  prober_->start();
  startFleet();
  // The status page's last minute: a first sample now (all zeros), then one a second.
  start_ms_ = monotonicMillis();
  sampleRates();
  uv_timer_init(&loop_, &rate_timer_);
  rate_timer_.data = this;
  uv_timer_start(
      &rate_timer_, [](uv_timer_t* handle) { static_cast<Server*>(handle->data)->sampleRates(); },
      1000, 1000);
  monitoring_ = true;
}

void Server::stopMonitoring() {
  if (prober_) prober_->close();
  stopFleet();
  if (monitoring_) {
    monitoring_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&rate_timer_), nullptr);
  }
}

void Server::recordReload(bool ok) {
  if (ok) {
    stats_.reloads_succeeded.add();
    stats_.last_reload_successful.set(1);
    stats_.last_reload_success_unix_ms.set(unixMillis());
  } else {
    stats_.reloads_failed.add();
    stats_.last_reload_successful.set(0);
  }
}

} // namespace wsgate::proxy
