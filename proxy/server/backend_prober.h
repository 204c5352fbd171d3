#pragma once

#include "proxy/server/shared_state.h"
#include "proxy/transport/lookup.h"

#include <cstdint>
#include <map>
#include <string>
#include <uv.h>

namespace wsgate::proxy {

// Recovery probes for the backends metrics::BackendHealth has marked down: once a second, one
// TCP connect to each (under the pool's connect_timeout), on the main loop; the outcome counts
// like a session's connect. Without them a backend marked down would stay down once /readyz had
// stopped the traffic that could show it is back. Backends that are up are judged by the
// sessions' own connects only.
class BackendProber {
public:
  static constexpr uint64_t kIntervalMs = 1000;

  BackendProber(uv_loop_t* loop, SharedState& shared) : loop_(loop), shared_(shared) {}
  ~BackendProber() = default;
  BackendProber(const BackendProber&) = delete;
  BackendProber& operator=(const BackendProber&) = delete;

  void start();
  // Stops probing; probes in flight are closed and their outcome is not recorded.
  void close();

private:
  struct Probe;

  void tick();
  void startProbe(const config::Pool& pool, const config::Backend& backend, std::string id);
  void connect(Probe* probe, const sockaddr* address);
  void finish(Probe* probe, bool ok);

  uv_loop_t* loop_;
  SharedState& shared_;
  uv_timer_t timer_{};
  bool started_ = false;
  bool closed_ = false;
  std::map<std::string, Probe*> in_flight_; // by metrics::key({pool, backend})
};

} // namespace wsgate::proxy
