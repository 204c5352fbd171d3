#include "proxy/balancer/pool_runtime.h"

#include <algorithm>

namespace wsgate::proxy {

PoolRuntime::Change
PoolRuntime::setBackends(const std::vector<config::Backend>& backends,
                         const std::function<bool(std::string_view label)>& initially_up) {
  Change change;
  bool reweighted = false; // the table depends on the weights
  const int64_t now = steadyNowMs();
  std::lock_guard lock(mutex_);
  auto next = std::make_shared<PoolSnapshot>();
  next->backends.reserve(backends.size());
  for (const config::Backend& backend : backends) {
    const std::string identity = BackendRuntime::identityOf(backend);
    std::shared_ptr<BackendRuntime> entry;
    if (const auto it = known_.find(identity); it != known_.end()) entry = it->second.lock();
    const bool listed = entry && !entry->removed();
    if (!entry) {
      entry = std::make_shared<BackendRuntime>(name_, backend);
      known_[identity] = entry;
      if (initially_up) entry->setUp(initially_up(entry->label()), now);
    }
    if (entry->weight() != backend.weight) reweighted = true;
    entry->setLimits(backend.weight, backend.max_connections);
    if (!listed) {
      entry->setRemoved(false);
      entry->setJoined(listed_once_ ? now : 0);
      change.added.push_back(entry);
    }
    next->backends.push_back(std::move(entry));
  }
  std::sort(next->backends.begin(), next->backends.end(),
            [](const auto& a, const auto& b) { return a->identity() < b->identity(); });
  next->backends.erase(std::unique(next->backends.begin(), next->backends.end()),
                       next->backends.end());
  for (const auto& old : snapshot_->backends) {
    if (std::binary_search(
            next->backends.begin(), next->backends.end(), old,
            [](const auto& a, const auto& b) { return a->identity() < b->identity(); })) {
      continue;
    }
    old->setRemoved(true);
    change.removed.push_back(old);
  }
  for (auto it = known_.begin(); it != known_.end();) {
    it = it->second.expired() ? known_.erase(it) : std::next(it);
  }
  listed_once_ = true;
  if (change.added.empty() && change.removed.empty() && !reweighted) return change;
  std::vector<balance::MaglevTable::Entry> entries;
  entries.reserve(next->backends.size());
  for (const auto& entry : next->backends) {
    entries.push_back({entry->identity(), static_cast<double>(entry->weight())});
  }
  next->table = balance::MaglevTable(entries);
  next->generation = snapshot_->generation + 1;
  snapshot_ = std::move(next);
  generation_.store(snapshot_->generation, std::memory_order_release);
  return change;
}

std::shared_ptr<const PoolSnapshot> PoolRuntime::snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

std::shared_ptr<BackendRuntime> PoolRuntime::find(std::string_view identity) const {
  std::lock_guard lock(mutex_);
  for (const auto& entry : snapshot_->backends) {
    if (entry->identity() == identity) return entry;
  }
  return nullptr;
}

std::vector<std::shared_ptr<BackendRuntime>> PoolRuntime::entries() const {
  std::vector<std::shared_ptr<BackendRuntime>> out;
  std::lock_guard lock(mutex_);
  for (const auto& [identity, weak] : known_) {
    if (auto entry = weak.lock()) out.push_back(std::move(entry));
  }
  return out;
}

void PoolRuntime::setUp(std::string_view label, bool up, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  for (const auto& entry : snapshot_->backends) {
    if (entry->label() == label) entry->setUp(up, now_ms);
  }
}

std::shared_ptr<PoolRuntime> BalancerState::pool(std::string_view name) {
  std::lock_guard lock(mutex_);
  auto it = pools_.find(name);
  if (it == pools_.end()) {
    it = pools_.emplace(std::string(name), std::make_shared<PoolRuntime>(std::string(name))).first;
  }
  return it->second;
}

std::shared_ptr<PoolRuntime> BalancerState::find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  const auto it = pools_.find(name);
  return it == pools_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<PoolRuntime>> BalancerState::pools() const {
  std::vector<std::shared_ptr<PoolRuntime>> out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, pool] : pools_)
    out.push_back(pool);
  return out;
}

void BalancerState::applyConfig(
    const config::Config& config,
    const std::function<bool(std::string_view pool, std::string_view label)>& up) {
  for (const config::Pool& configured : config.pools) {
    pool(configured.name)->setBackends(configured.backends, [&](std::string_view label) {
      return up ? up(configured.name, label) : true;
    });
  }
}

void BalancerState::setUp(std::string_view pool_name, std::string_view label, bool up) {
  if (const auto runtime = find(pool_name)) runtime->setUp(label, up, steadyNowMs());
}

} // namespace wsgate::proxy
