#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace wsgate::bench {

// A log-linear histogram of non-negative integers (latencies in nanoseconds). Values below 256
// are counted exactly; above, each power of two is split into 128 buckets, so a reported
// percentile is within 0.8% of the true value. Values over 2^40 are counted as 2^40. Memory is
// fixed (about 36 KiB); recording is a few instructions and never allocates.
class Histogram {
public:
  Histogram();

  void record(uint64_t value);
  void reset();

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  // The value at percentile `p` (0 < p <= 100): the upper edge of the bucket holding the
  // sample of that rank, capped at max(). 0 when empty.
  uint64_t percentile(double p) const;

private:
  static constexpr unsigned kSubBits = 7; // 128 buckets per power of two
  static constexpr unsigned kMaxBits = 40;
  static std::size_t indexOf(uint64_t value);
  static uint64_t upperEdge(std::size_t index);

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

} // namespace wsgate::bench
