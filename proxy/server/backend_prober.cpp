#include "proxy/server/backend_prober.h"

#include "proxy/metrics/names.h"
#include "proxy/metrics/stats.h"
#include "proxy/transport/address.h"

#include <vector>

namespace wsgate::proxy {

// One probe: resolving (for a host name), then connecting. Freed in its handle's close
// callback, or at once when it never opened a handle.
struct BackendProber::Probe final : LookupEvents {
  BackendProber* owner = nullptr;
  std::string id;
  std::string pool;
  std::string backend;
  uint64_t deadline_ms = 0;
  Lookup lookup; // a host name, while it resolves
  uv_tcp_t tcp{};
  uv_connect_t request{};
  bool tcp_open = false;
  bool finished = false;

  void onLookup(int status, const addrinfo* result) override {
    if (status != 0 || result == nullptr) {
      owner->finish(this, false);
      delete this;
      return;
    }
    owner->connect(this, result->ai_addr);
  }
};

void BackendProber::start() {
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  started_ = true;
  uv_timer_start(
      &timer_, [](uv_timer_t* handle) { static_cast<BackendProber*>(handle->data)->tick(); },
      kIntervalMs, kIntervalMs);
}

void BackendProber::close() {
  if (closed_) return;
  closed_ = true;
  if (started_) uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  std::vector<Probe*> probes;
  for (const auto& [id, probe] : in_flight_)
    probes.push_back(probe);
  for (Probe* probe : probes) {
    if (probe->tcp_open) {
      uv_close(reinterpret_cast<uv_handle_t*>(&probe->tcp),
               [](uv_handle_t* handle) { delete static_cast<Probe*>(handle->data); });
      probe->finished = true;
    } else {
      delete probe; // detaches its lookup
    }
  }
  in_flight_.clear();
}

void BackendProber::tick() {
  const uint64_t now = uv_now(loop_);
  // A probe past its deadline fails: closing the handle cancels a connect; a lookup that has
  // not answered is given up (the resolver may hang far longer than connect_timeout).
  std::vector<Probe*> late;
  for (const auto& [id, probe] : in_flight_) {
    if (now >= probe->deadline_ms && !probe->finished) late.push_back(probe);
  }
  for (Probe* probe : late) {
    const bool resolving = !probe->tcp_open;
    finish(probe, false);
    if (resolving) delete probe;
  }
  const auto down = shared_.backend_health.downBackends();
  if (down.empty()) return;
  const auto config = shared_.config();
  for (const config::Pool& pool : config->pools) {
    for (const config::Backend& backend : pool.backends) {
      std::string label = metrics::backendLabel(backend);
      std::string id = metrics::key({pool.name, label});
      if (in_flight_.count(id) != 0) continue;
      for (const auto& [down_pool, down_backend] : down) {
        if (down_pool == pool.name && down_backend == label) {
          startProbe(pool, backend, std::move(id));
          break;
        }
      }
    }
  }
}

void BackendProber::startProbe(const config::Pool& pool, const config::Backend& backend,
                               std::string id) {
  auto* probe = new Probe;
  probe->owner = this;
  probe->id = std::move(id);
  probe->pool = pool.name;
  probe->backend = metrics::backendLabel(backend);
  probe->deadline_ms = uv_now(loop_) + static_cast<uint64_t>(pool.connect_timeout.count());
  in_flight_[probe->id] = probe;
  sockaddr_storage address{};
  if (literalSockaddr(backend.address, address)) {
    connect(probe, reinterpret_cast<const sockaddr*>(&address));
    return;
  }
  if (probe->lookup.start(loop_, backend.address.host, backend.address.port, *probe) != 0) {
    finish(probe, false);
    delete probe;
  }
}

void BackendProber::connect(Probe* probe, const sockaddr* address) {
  uv_tcp_init(loop_, &probe->tcp);
  probe->tcp.data = probe;
  probe->tcp_open = true;
  probe->request.data = probe;
  const int rc =
      uv_tcp_connect(&probe->request, &probe->tcp, address, [](uv_connect_t* req, int status) {
        auto* p = static_cast<Probe*>(req->data);
        if (!p->finished) p->owner->finish(p, status == 0);
      });
  if (rc != 0) finish(probe, false);
}

void BackendProber::finish(Probe* probe, bool ok) {
  probe->finished = true;
  in_flight_.erase(probe->id);
  const auto config = shared_.config();
  for (const config::Pool& pool : config->pools) {
    if (pool.name == probe->pool) shared_.backend_health.recordConnect(pool, probe->backend, ok);
  }
  if (probe->tcp_open && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&probe->tcp))) {
    uv_close(reinterpret_cast<uv_handle_t*>(&probe->tcp),
             [](uv_handle_t* handle) { delete static_cast<Probe*>(handle->data); });
  }
}

} // namespace wsgate::proxy
