#include "proxy/server/rebalancer.h"

#include "proxy/core/logger.h"
#include "proxy/metrics/names.h"
#include "proxy/metrics/stats.h"
#include "proxy/server/worker.h"

#include <algorithm>
#include <set>

namespace wsgate::proxy {
namespace {

uint64_t nowUs() {
  return uv_hrtime() / 1000;
}

std::set<std::string> labelsOf(const config::Pool& pool) {
  std::set<std::string> out;
  for (const config::Backend& backend : pool.backends)
    out.insert(metrics::backendLabel(backend));
  return out;
}

} // namespace

void Rebalancer::start() {
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&timer_));
  started_ = true;
}

void Rebalancer::close() {
  if (closed_) return;
  closed_ = true;
  shedding_.clear();
  drains_.clear();
  if (started_) uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
}

// One-shot, at the next paced slot (at most kMaxWaitMs away, so progress lines stay on time).
void Rebalancer::arm() {
  if (!started_ || closed_) return;
  if (drains_.empty() && shedding_.empty()) {
    uv_timer_stop(&timer_);
    return;
  }
  const uint64_t now = nowUs();
  uint64_t wait_us = kMaxWaitMs * 1000;
  for (const auto& [name, state] : shedding_)
    wait_us = std::min(wait_us, state.pacer.wait(now));
  for (const Drain& drain : drains_)
    wait_us = std::min(wait_us, drain.pacer.wait(now));
  const uint64_t wait_ms = std::max<uint64_t>(1, (wait_us + 999) / 1000);
  uv_timer_start(
      &timer_, [](uv_timer_t* handle) { static_cast<Rebalancer*>(handle->data)->tick(); }, wait_ms,
      0);
}

void Rebalancer::configChanged(const config::Config& before, const config::Config& after) {
  for (const config::Pool& pool : after.pools) {
    for (const config::Pool& old : before.pools) {
      if (old.name != pool.name) continue;
      const std::set<std::string> was = labelsOf(old);
      const std::set<std::string> now = labelsOf(pool);
      std::vector<std::string> added;
      std::vector<std::string> removed;
      std::set_difference(now.begin(), now.end(), was.begin(), was.end(),
                          std::back_inserter(added));
      std::set_difference(was.begin(), was.end(), now.begin(), now.end(),
                          std::back_inserter(removed));
      if (!added.empty() || !removed.empty()) fleetChanged(pool, added, removed);
    }
  }
}

void Rebalancer::fleetChanged(const config::Pool& pool, const std::vector<std::string>& added,
                              const std::vector<std::string>& removed) {
  if (closed_) return;
  const config::Rebalance& rules = pool.rebalance;
  // A backend that comes back is no longer drained.
  std::erase_if(drains_, [&](const Drain& drain) {
    return drain.pool == pool.name &&
           std::find(added.begin(), added.end(), drain.backend) != added.end();
  });
  const uint64_t now = nowUs();
  for (const std::string& backend : removed) {
    if (rules.drain_removed.count() <= 0) continue;
    uint64_t sessions = 0;
    for (const uint64_t n : perWorker(pool.name, backend))
      sessions += n;
    if (sessions == 0) continue;
    Drain drain{pool.name, backend, rules.close_code, Pacer(1), sessions};
    const auto window_us = static_cast<uint64_t>(rules.drain_removed.count()) * 1000;
    drain.pacer.setInterval(window_us / sessions);
    drain.pacer.take(now); // the first close one interval from now, the last at the window's end
    drains_.push_back(std::move(drain));
    Logger& logger = Logger::instance();
    logger.write(logger.line(log::Level::Info, "backend_drain_started")
                     .str("pool", pool.name)
                     .str("backend", backend)
                     .unum("sessions", sessions)
                     .real("window_s", static_cast<double>(window_us) / 1e6)
                     .finish());
  }
  if (rules.enabled && !added.empty()) {
    const bool running = shedding_.count(pool.name) != 0;
    Shedding& state = shedding_[pool.name];
    state.done = false;
    if (!running) { // a running pacer keeps its slots: a second change makes no burst
      state.pacer = Pacer(static_cast<double>(rules.rate));
      state.second_start_us = now;
      state.closes_this_second = 0;
    }
    logProgress(pool, state, "rebalance_started");
  }
  if (!drains_.empty() || !shedding_.empty()) arm();
}

void Rebalancer::tick() {
  const uint64_t now = nowUs();
  const auto config = shared_.config();
  for (auto it = shedding_.begin(); it != shedding_.end();) {
    const config::Pool* pool = nullptr;
    for (const config::Pool& p : config->pools)
      if (p.name == it->first) pool = &p;
    if (pool == nullptr || !pool->rebalance.enabled) {
      it = shedding_.erase(it);
      continue;
    }
    shedStep(*pool, it->second, now);
    if (it->second.done) {
      it = shedding_.erase(it);
    } else {
      ++it;
    }
  }
  std::erase_if(drains_, [&](Drain& drain) { return !drainStep(drain, now); });
  arm();
}

void Rebalancer::shedStep(const config::Pool& pool, Shedding& state, uint64_t now_us) {
  if (now_us - state.second_start_us >= 1000000) {
    logProgress(pool, state, "rebalance_progress");
    state.second_start_us += 1000000 * ((now_us - state.second_start_us) / 1000000);
    state.closes_this_second = 0;
    state.min_gap_us = 0;
  }
  if (state.pacer.wait(now_us) != 0) return;
  const std::vector<BackendLoad> loads = loadsOf(pool);
  const auto worst = mostOverloaded(loads, pool.rebalance.tolerance);
  if (!worst) {
    logProgress(pool, state, "rebalance_done");
    state.done = true; // tick() erases it
    return;
  }
  state.pacer.take(now_us);
  if (order(pool.name, loads[*worst].label, pool.rebalance.close_code, "overload")) {
    ++state.closes_this_second;
    if (state.last_close_us != 0) {
      const uint64_t gap = now_us - state.last_close_us;
      if (state.min_gap_us == 0 || gap < state.min_gap_us) state.min_gap_us = gap;
    }
    state.last_close_us = now_us;
  }
}

bool Rebalancer::drainStep(Drain& drain, uint64_t now_us) {
  if (drain.pacer.wait(now_us) != 0) return true;
  drain.pacer.take(now_us);
  if (!order(drain.pool, drain.backend, drain.code, "removed")) return false; // none left
  return --drain.left > 0;
}

// The pool's listed backends as the balancers see them: live sessions over all workers (a
// session counts from its pick), weight, health.
std::vector<BackendLoad> Rebalancer::loadsOf(const config::Pool& pool) const {
  std::vector<BackendLoad> loads;
  const auto runtime = shared_.balancers.find(pool.name);
  if (!runtime) return loads;
  for (const auto& backend : runtime->snapshot()->backends) {
    BackendLoad load;
    load.label = backend->label();
    load.weight = std::max<double>(1, backend->weight());
    load.sessions = backend->live();
    load.eligible = backend->up() && !backend->removed();
    loads.push_back(std::move(load));
  }
  return loads;
}

std::vector<uint64_t> Rebalancer::perWorker(const std::string& pool,
                                            const std::string& backend) const {
  const std::string id = metrics::key({pool, backend});
  std::vector<uint64_t> counts;
  counts.reserve(workers_.size());
  for (Worker* worker : workers_) {
    metrics::WorkerStats& stats = worker->stats();
    std::lock_guard lock(stats.mutex);
    const auto it = stats.backend_active.find(id);
    counts.push_back(it == stats.backend_active.end() ? 0 : it->second);
  }
  return counts;
}

bool Rebalancer::order(const std::string& pool, const std::string& backend, uint16_t code,
                       const char* reason) {
  const std::vector<uint64_t> counts = perWorker(pool, backend);
  uint64_t total = 0;
  for (const uint64_t n : counts)
    total += n;
  if (total == 0) return false;
  random_ ^= random_ << 13;
  random_ ^= random_ >> 7;
  random_ ^= random_ << 17;
  uint64_t pick = random_ % total;
  std::size_t index = 0;
  while (pick >= counts[index]) {
    pick -= counts[index];
    ++index;
  }
  workers_[index]->requestShed(ShedOrder{pool, backend, code, reason});
  return true;
}

void Rebalancer::logProgress(const config::Pool& pool, Shedding& state, const char* event) {
  std::string spread;
  for (const BackendLoad& load : loadsOf(pool)) {
    if (!spread.empty()) spread += ' ';
    spread += load.label + "=" + std::to_string(load.sessions);
  }
  Logger& logger = Logger::instance();
  logger.write(logger.line(log::Level::Info, event)
                   .str("pool", pool.name)
                   .str("sessions", spread)
                   .unum("closes_last_second", state.closes_this_second)
                   .real("min_gap_ms", static_cast<double>(state.min_gap_us) / 1000.0, 1)
                   .unum("rate", pool.rebalance.rate)
                   .real("tolerance", pool.rebalance.tolerance)
                   .finish());
}

} // namespace wsgate::proxy
