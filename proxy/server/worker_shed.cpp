// Sessions closed on the rebalancer's orders (proxy/server/rebalancer.h).
#include "proxy/metrics/names.h"
#include "proxy/server/worker.h"

#include <random>

namespace wsgate::proxy {

bool Worker::requestShed(ShedOrder order) {
  std::lock_guard lock(async_mutex_);
  if (!async_open_) return false;
  shed_orders_.push_back(std::move(order));
  commands_.fetch_or(kShed);
  uv_async_send(&async_);
  return true;
}

// One session per order, chosen uniformly among this worker's open sessions on the backend
// (reservoir sampling over the session list).
void Worker::shedSessions() {
  std::vector<ShedOrder> orders;
  {
    std::lock_guard lock(async_mutex_);
    orders.swap(shed_orders_);
  }
  thread_local std::minstd_rand random{std::random_device{}()};
  for (const ShedOrder& order : orders) {
    if (draining_ || stopping_) return;
    HostedSession* chosen = nullptr;
    uint64_t seen = 0;
    for (HostedSession* session = sessions_; session != nullptr; session = session->host_next) {
      if (!session->openOn(order.pool, order.backend)) continue;
      if (std::uniform_int_distribution<uint64_t>(0, seen++)(random) == 0) chosen = session;
    }
    if (chosen == nullptr) continue;
    chosen->shed(order.code);
    std::lock_guard lock(stats_.mutex);
    ++stats_.shed[metrics::key({order.pool, order.reason})];
  }
}

} // namespace wsgate::proxy
