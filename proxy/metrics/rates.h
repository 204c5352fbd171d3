#pragma once

#include "proxy/metrics/stats.h"
#include "proxy/metrics/totals.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace wsgate::proxy::metrics {

// What the status page shows "over the last minute", as cumulative counts at one instant:
// handshakes by the status sent, closes by leg and close code, data messages by direction.
struct RateSample {
  uint64_t at_ms = 0;                         // a monotonic clock
  std::map<std::string, uint64_t> handshakes; // status ("101", "502", ...), every listener
  std::map<std::string, uint64_t> closes;     // key({leg, code}), whoever closed first
  std::array<uint64_t, kDirections> messages{};
};

// The sample of `totals` (summed workers) taken at `at_ms`.
RateSample rateSample(const Totals& totals, uint64_t at_ms);

// A ring of the last samples, one pushed a second by the main loop's timer: enough to reach
// kWindowMs back. The counts of the last minute are a fresh sample minus baseline(); the
// per-second message rates are the differences between neighbouring samples. Main thread only.
class RateWindow {
public:
  static constexpr uint64_t kWindowMs = 60000;
  static constexpr std::size_t kCapacity = 61; // kWindowMs of 1 s steps, both ends included

  void push(RateSample sample);
  bool empty() const { return size_ == 0; }
  // The oldest sample at most kWindowMs before `now_ms`; the newest when all are older.
  // Requires !empty().
  const RateSample& baseline(uint64_t now_ms) const;
  // Messages per second of `direction` between neighbouring samples, oldest first.
  std::vector<uint64_t> messagesPerSecond(std::size_t direction) const;

private:
  const RateSample& at(std::size_t i) const { return ring_[(start_ + i) % kCapacity]; }

  std::array<RateSample, kCapacity> ring_{};
  std::size_t start_ = 0; // index of the oldest sample
  std::size_t size_ = 0;
};

// `now` minus `base` per key, keeping only the keys that grew.
std::map<std::string, uint64_t> increase(const std::map<std::string, uint64_t>& now,
                                         const std::map<std::string, uint64_t>& base);

} // namespace wsgate::proxy::metrics
