#pragma once

// The arithmetic of rebalancing, without I/O: which backend is over its weighted fair share,
// and when the next paced close is due. The Rebalancer (rebalancer.h) acts on it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace wsgate::proxy {

// One backend of a pool as the rebalancer sees it.
struct BackendLoad {
  std::string label;     // metrics::backendLabel
  double weight = 1;     // > 0
  uint64_t sessions = 0; // live sessions over all workers
  bool eligible = true;  // up and still in the pool: it has a fair share
};

// The fair share of each eligible backend: the eligible backends' sessions split by weight
// (0 for the others).
std::vector<double> fairShares(std::span<const BackendLoad> loads);

// The backend to shed one session from: the eligible one with the largest sessions / share
// among those above (1 + tolerance) x their share; nullopt when every backend is within it.
std::optional<std::size_t> mostOverloaded(std::span<const BackendLoad> loads, double tolerance);

// Paces events at most `per_second` a second: the k-th no sooner than k / per_second after the
// first, and never two closer than 1 / per_second (a late timer does not make up for lost time).
class Pacer {
public:
  explicit Pacer(double per_second) : interval_us_(static_cast<uint64_t>(1e6 / per_second)) {}
  // True (and the next slot taken) when an event may happen at `now_us`.
  bool take(uint64_t now_us) {
    if (started_ && now_us < next_us_) return false;
    started_ = true;
    next_us_ = now_us + interval_us_;
    return true;
  }
  // Microseconds until the next slot (0 when one is free now).
  uint64_t wait(uint64_t now_us) const {
    return !started_ || now_us >= next_us_ ? 0 : next_us_ - now_us;
  }
  void setInterval(uint64_t interval_us) { interval_us_ = interval_us; }

private:
  uint64_t interval_us_;
  uint64_t next_us_ = 0;
  bool started_ = false;
};

} // namespace wsgate::proxy
