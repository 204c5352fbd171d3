#include "tests/bench/loadgen/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace wsgate::bench {

namespace {

constexpr uint64_t kExact = uint64_t{2} << 7; // 256: values below are their own bucket

} // namespace

Histogram::Histogram() : counts_(indexOf(uint64_t{1} << kMaxBits) + 1, 0) {}

std::size_t Histogram::indexOf(uint64_t value) {
  value = std::min(value, uint64_t{1} << kMaxBits);
  if (value < kExact) return static_cast<std::size_t>(value);
  // value >= 256: its top bit is bit `magnitude` (>= 8); keep the 8 bits from there down.
  const auto magnitude = static_cast<unsigned>(std::bit_width(value) - 1);
  const unsigned shift = magnitude - kSubBits;
  const uint64_t top = value >> shift; // 128 .. 255
  return static_cast<std::size_t>(kExact +
                                  (magnitude - (kSubBits + 1)) * (uint64_t{1} << kSubBits) +
                                  (top - (uint64_t{1} << kSubBits)));
}

uint64_t Histogram::upperEdge(std::size_t index) {
  if (index < kExact) return index;
  const std::size_t above = index - kExact;
  const unsigned magnitude = static_cast<unsigned>(above >> kSubBits) + kSubBits + 1;
  const uint64_t top = (uint64_t{1} << kSubBits) + (above & ((uint64_t{1} << kSubBits) - 1));
  const unsigned shift = magnitude - kSubBits;
  return ((top + 1) << shift) - 1;
}

void Histogram::record(uint64_t value) {
  ++counts_[indexOf(value)];
  ++count_;
  max_ = std::max(max_, value);
}

void Histogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  max_ = 0;
}

uint64_t Histogram::percentile(double p) const {
  if (count_ == 0) return 0;
  // The rank of the sample at percentile p, 1-based.
  const auto rank = static_cast<uint64_t>(
      std::max(1.0, std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(upperEdge(i), max_);
  }
  return max_;
}

} // namespace wsgate::bench
