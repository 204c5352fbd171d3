#include "proxy/metrics/backend_health.h"

#include "proxy/core/logger.h"
#include "proxy/metrics/names.h"
#include "proxy/metrics/stats.h"

#include <algorithm>

namespace wsgate::proxy::metrics {

BackendHealth::Thresholds BackendHealth::thresholdsFor(const config::Pool& pool) {
  Thresholds thresholds;
  if (pool.health) {
    thresholds.unhealthy_after = std::max<uint32_t>(1, pool.health->unhealthy_after);
    thresholds.healthy_after = std::max<uint32_t>(1, pool.health->healthy_after);
  }
  return thresholds;
}

void BackendHealth::recordConnect(const config::Pool& pool, std::string_view backend, bool ok,
                                  std::string_view reason) {
  const Thresholds thresholds = thresholdsFor(pool);
  bool went_down = false;
  bool went_up = false;
  uint32_t failures = 0;
  {
    std::lock_guard lock(mutex_);
    const std::string id = key({pool.name, backend});
    auto it = states_.find(id);
    if (it == states_.end()) {
      if (ok) return; // up, and nothing to remember
      it = states_.emplace(id, State{}).first;
    }
    State& state = it->second;
    if (ok) {
      state.failures = 0;
      if (!state.up && ++state.successes >= thresholds.healthy_after) {
        state.up = true;
        went_up = true;
      }
    } else {
      state.successes = 0;
      failures = ++state.failures;
      if (state.up && state.failures >= thresholds.unhealthy_after) {
        state.up = false;
        went_down = true;
      }
    }
    if (state.up && state.failures == 0) states_.erase(it);
  }
  if (!went_down && !went_up) return;
  if (observer_) observer_(pool.name, backend, went_up);
  Logger& logger = Logger::instance();
  if (went_down) {
    log::LogLine line = logger.line(log::Level::Warn, "backend_down");
    line.str("pool", pool.name).str("backend", backend).unum("failed_connects", failures);
    if (!reason.empty()) line.str("reason", reason);
    logger.write(line.finish());
  } else {
    logger.write(logger.line(log::Level::Info, "backend_up")
                     .str("pool", pool.name)
                     .str("backend", backend)
                     .finish());
  }
}

bool BackendHealth::isUp(std::string_view pool, std::string_view backend) const {
  std::lock_guard lock(mutex_);
  const auto it = states_.find(key({pool, backend}));
  return it == states_.end() || it->second.up;
}

std::vector<std::pair<std::string, std::string>> BackendHealth::downBackends() const {
  std::vector<std::pair<std::string, std::string>> out;
  std::lock_guard lock(mutex_);
  for (const auto& [id, state] : states_) {
    if (state.up) continue;
    const std::vector<std::string_view> labels = splitKey(id);
    out.emplace_back(std::string(labels[0]), std::string(labels[1]));
  }
  return out;
}

std::vector<std::string> BackendHealth::poolsWithoutBackendUp(const config::Config& config) const {
  std::vector<std::string> out;
  for (const config::Route& route : config.routes) {
    const config::Pool& pool = config.pools[route.pool_index];
    if (std::find(out.begin(), out.end(), pool.name) != out.end()) continue;
    const bool any_up = std::any_of(
        pool.backends.begin(), pool.backends.end(),
        [&](const config::Backend& backend) { return isUp(pool.name, backendLabel(backend)); });
    if (!any_up) out.push_back(pool.name);
  }
  return out;
}

} // namespace wsgate::proxy::metrics
