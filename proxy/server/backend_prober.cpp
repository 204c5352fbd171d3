#include "proxy/server/backend_prober.h"

#include "common/config/values.h"
#include "proxy/metrics/names.h"
#include "proxy/metrics/stats.h"

#include <vector>

namespace wsgate::proxy {
namespace {

// The backend's host as configured ("host:port"): for a backend DNS discovery found, the name
// it was found under rather than its address.
std::string hostHeaderOf(const config::Backend& backend) {
  const config::Parsed<config::Backend> written = config::parseBackend(backend.original);
  return config::formatAddress(written ? written.value->address : backend.address);
}

} // namespace

void BackendProber::start() {
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  started_ = true;
  uv_timer_start(
      &timer_, [](uv_timer_t* handle) { static_cast<BackendProber*>(handle->data)->tick(); },
      kTickMs, kTickMs);
}

void BackendProber::close() {
  if (closed_) return;
  closed_ = true;
  if (started_) uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  const std::vector<HealthProbe*> probes(live_.begin(), live_.end());
  for (HealthProbe* probe : probes)
    probe->cancel();
  judging_.clear();
}

void BackendProber::tick() {
  const uint64_t now = uv_now(loop_);
  const std::vector<HealthProbe*> probes(live_.begin(), live_.end());
  for (HealthProbe* probe : probes)
    probe->expire(now); // may end the probe
  const auto config = shared_.config();
  if (config != probed_config_) {
    // Backends that left (reload, DNS) are forgotten.
    std::set<std::string> listed;
    for (const config::Pool& pool : config->pools) {
      for (const config::Backend& backend : pool.backends)
        listed.insert(metrics::key({pool.name, metrics::backendLabel(backend)}));
    }
    std::erase_if(next_due_, [&](const auto& entry) { return listed.count(entry.first) == 0; });
    probed_config_ = config;
  }
  for (const config::Pool& pool : config->pools)
    probePool(pool, now);
}

void BackendProber::probePool(const config::Pool& pool, uint64_t now) {
  std::vector<std::pair<std::string, std::string>> down;
  if (!pool.health) down = shared_.backend_health.downBackends();
  for (const config::Backend& backend : pool.backends) {
    const std::string label = metrics::backendLabel(backend);
    std::string id = metrics::key({pool.name, label});
    if (judging_.count(id) != 0) continue;
    if (!pool.health) {
      bool is_down = false;
      for (const auto& [down_pool, down_backend] : down)
        is_down = is_down || (down_pool == pool.name && down_backend == label);
      if (!is_down) {
        next_due_.erase(id); // when it goes down again, it rests a full interval first
        continue;
      }
    }
    auto due = next_due_.find(id);
    if (due == next_due_.end() && !pool.health) {
      // Just taken down by its sessions: its first recovery connect comes one interval later,
      // not at the next tick (a backend that accepts TCP but fails upgrades would otherwise be
      // up again within 100 ms of going down).
      next_due_[id] = now + kRecoveryIntervalMs;
      continue;
    }
    if (due != next_due_.end() && now < due->second) continue;
    const uint64_t interval =
        pool.health ? static_cast<uint64_t>(pool.health->interval.count()) : kRecoveryIntervalMs;
    next_due_[id] = now + interval;
    startProbe(pool, backend, id);
  }
}

void BackendProber::startProbe(const config::Pool& pool, const config::Backend& backend,
                               const std::string& id) {
  ProbeTarget target;
  target.id = id;
  target.backend = backend;
  auto timeout_ms = static_cast<uint64_t>(pool.connect_timeout.count());
  if (pool.health) {
    target.websocket = true;
    target.path = pool.health->path;
    target.host = pool.health->host.empty() ? hostHeaderOf(backend) : pool.health->host;
    timeout_ms = static_cast<uint64_t>(pool.health->timeout.count());
  }
  if (backend.tls) {
    const auto contexts = shared_.tls();
    target.tls = contexts ? contexts->pool(pool.name) : nullptr;
  }
  HealthProbe* probe = HealthProbe::create(loop_, buffers_, *this, std::move(target), timeout_ms);
  judging_[id] = probe;
  live_.insert(probe);
  probe->begin();
}

void BackendProber::onProbeVerdict(HealthProbe& probe, bool healthy, const std::string& reason) {
  judging_.erase(probe.id());
  if (closed_) return;
  const std::vector<std::string_view> labels = metrics::splitKey(probe.id());
  const auto config = shared_.config();
  for (const config::Pool& pool : config->pools) {
    if (pool.name != labels[0]) continue;
    shared_.backend_health.recordConnect(pool, labels[1], healthy,
                                         healthy ? std::string() : "probe: " + reason);
  }
}

void BackendProber::onProbeGone(HealthProbe& probe) {
  live_.erase(&probe);
  if (judging_.count(probe.id()) != 0 && judging_[probe.id()] == &probe) {
    judging_.erase(probe.id());
  }
}

} // namespace wsgate::proxy
