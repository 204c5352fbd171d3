#pragma once

// The balancing algorithms, as pure functions of what a balancer sees: each backend's
// effective weight, its live sessions (counted over all workers) and whether it can take one
// more session. No I/O, no clocks, no shared state: the caller takes a consistent view and
// passes it in; the randomised ones take the caller's generator.

#include "common/balance/hash.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace wsgate::balance {

// One backend as a pick sees it.
struct Candidate {
  double weight = 1;     // effective weight (configured weight x slow-start ramp); > 0
  uint64_t live = 0;     // live sessions bound to it, all workers
  bool available = true; // up, not full, not already tried for this session
};

// Smooth weighted round robin (nginx's): every pick adds each available backend's weight to
// its running score, takes the highest score and subtracts the total from it. Over any window
// of sum(weights) picks each backend is picked in proportion to its weight, interleaved rather
// than in bursts. The scores are this instance's state: one instance per pool per worker.
class SmoothRoundRobin {
public:
  std::optional<std::size_t> pick(std::span<const Candidate> candidates);
  // Forgets the scores (the backend list changed).
  void reset(std::size_t backends) { scores_.assign(backends, 0.0); }

private:
  std::vector<double> scores_;
};

// The available backend with the fewest live sessions per unit of weight, counting the session
// being placed: (live + 1) / weight, so a backend of weight 3 takes three sessions for each
// one a backend of weight 1 takes. Ties go to a random one of the tied backends.
std::optional<std::size_t> pickLeastConn(std::span<const Candidate> candidates, Rng& rng);

// Power of two choices: two distinct available backends drawn at random in proportion to their
// weight; the one with the lower (live + 1) / weight wins. Nearly as even as least_conn, without
// every worker flocking to the same least loaded backend at once.
std::optional<std::size_t> pickP2C(std::span<const Candidate> candidates, Rng& rng);

// An available backend drawn at random in proportion to its weight.
std::optional<std::size_t> pickRandom(std::span<const Candidate> candidates, Rng& rng);

// Bounded loads (Mirrokni, Thorup, Zadimoghaddam, "Consistent Hashing with Bounded Loads"):
// with `total_live` sessions over backends whose weights sum to `total_weight`, a backend of
// weight `weight` may hold at most ceil(factor x (total_live + 1) x weight / total_weight)
// sessions, the session being placed included. factor >= 1.
uint64_t boundedCapacity(double factor, uint64_t total_live, double weight, double total_weight);

// Slow start: the share of its weight a backend has `elapsed_ms` after it joined or recovered,
// rising linearly from kMinRamp to 1 over `window_ms` (<= 0: no ramp, always 1).
inline constexpr double kMinRamp = 0.01;
double slowStartFactor(int64_t elapsed_ms, int64_t window_ms);

// A Retry-After in whole seconds: `base_ms` scaled by a factor in [0.5, 1.5] (`unit` in
// [0, 1)), rounded, at least 1. Clients told to come back do not all come back at once.
uint64_t jitteredSeconds(int64_t base_ms, double unit);

} // namespace wsgate::balance
