#pragma once

#include "common/config/config.h"
#include "proxy/balancer/shed_plan.h"
#include "proxy/server/shared_state.h"

#include <cstdint>
#include <map>
#include <string>
#include <uv.h>
#include <vector>

namespace wsgate::proxy {

class Worker;

// Moves long-lived sessions when a pool's fleet changes, on the main loop ([pools.rebalance]).
// - Backends added (reload or DNS) with `enabled`: while a backend holds more than
//   (1 + tolerance) x its weighted fair share of the pool's live sessions (all workers), one
//   session of the most overloaded backend is closed every 1/rate s: the worker is chosen with
//   a probability proportional to its sessions there (so the session is a random one of the
//   backend's), and that worker closes a random one of its own (Worker::requestShed). It stops
//   once the spread is within tolerance. One `rebalance_progress` line a second shows the spread.
// - Backends removed: their sessions get the same close spread evenly over drain_removed
//   (nothing when it is 0), enabled or not.
class Rebalancer {
public:
  static constexpr uint64_t kMaxWaitMs = 100;

  Rebalancer(uv_loop_t* loop, SharedState& shared, std::vector<Worker*> workers)
      : loop_(loop), shared_(shared), workers_(std::move(workers)) {}
  ~Rebalancer() = default;
  Rebalancer(const Rebalancer&) = delete;
  Rebalancer& operator=(const Rebalancer&) = delete;

  void start();
  void close();
  // `added` and `removed` (backend labels) changed in `pool` (of the current config).
  void fleetChanged(const config::Pool& pool, const std::vector<std::string>& added,
                    const std::vector<std::string>& removed);
  // Compares every pool of `before` with its namesake in `after` (a reload).
  void configChanged(const config::Config& before, const config::Config& after);

private:
  struct Shedding {
    Pacer pacer{1};
    uint64_t second_start_us = 0;
    uint64_t closes_this_second = 0;
    uint64_t last_close_us = 0; // when the last close was ordered; 0 before the first
    uint64_t min_gap_us = 0;    // the shortest time between two orders this second; 0 = none
    bool done = false;          // within tolerance
  };
  struct Drain {
    std::string pool;
    std::string backend;
    uint16_t code = 1012;
    Pacer pacer{1};
    uint64_t left = 0; // closes still to issue
  };

  void tick();
  void arm();
  void shedStep(const config::Pool& pool, Shedding& state, uint64_t now_us);
  bool drainStep(Drain& drain, uint64_t now_us);
  std::vector<BackendLoad> loadsOf(const config::Pool& pool) const;
  // Each worker's live sessions on (pool, backend).
  std::vector<uint64_t> perWorker(const std::string& pool, const std::string& backend) const;
  // Orders one close from a worker chosen by weight `counts`; false when no session is left.
  bool order(const std::string& pool, const std::string& backend, uint16_t code,
             const char* reason);
  void logProgress(const config::Pool& pool, Shedding& state, const char* event);

  uv_loop_t* loop_;
  SharedState& shared_;
  std::vector<Worker*> workers_;
  uv_timer_t timer_{};
  bool started_ = false;
  bool closed_ = false;
  uint64_t random_ = 0x9e3779b97f4a7c15ULL;  // xorshift state for picking workers
  std::map<std::string, Shedding> shedding_; // by pool name
  std::vector<Drain> drains_;
};

} // namespace wsgate::proxy
