#include "proxy/metrics/rates.h"

#include "proxy/metrics/names.h"

namespace wsgate::proxy::metrics {

RateSample rateSample(const Totals& totals, uint64_t at_ms) {
  RateSample sample;
  sample.at_ms = at_ms;
  for (const auto& [id, count] : totals.handshakes) {
    const std::vector<std::string_view> labels = splitKey(id); // listener, status
    if (labels.size() == 2) sample.handshakes[std::string(labels[1])] += count;
  }
  for (const auto& [id, count] : totals.closes) {
    const std::vector<std::string_view> labels = splitKey(id); // leg, closed_by, code
    if (labels.size() == 3) sample.closes[key({labels[0], labels[2]})] += count;
  }
  for (std::size_t d = 0; d < kDirections; ++d) {
    for (const OpcodeName& op : kMessageOpcodes)
      sample.messages[d] += totals.messages[d][op.opcode];
  }
  return sample;
}

void RateWindow::push(RateSample sample) {
  if (size_ == kCapacity) {
    ring_[start_] = std::move(sample);
    start_ = (start_ + 1) % kCapacity;
    return;
  }
  ring_[(start_ + size_) % kCapacity] = std::move(sample);
  ++size_;
}

const RateSample& RateWindow::baseline(uint64_t now_ms) const {
  for (std::size_t i = 0; i < size_; ++i) {
    if (at(i).at_ms + kWindowMs >= now_ms) return at(i);
  }
  return at(size_ - 1);
}

std::vector<uint64_t> RateWindow::messagesPerSecond(std::size_t direction) const {
  std::vector<uint64_t> out;
  for (std::size_t i = 1; i < size_; ++i) {
    const uint64_t before = at(i - 1).messages[direction];
    const uint64_t after = at(i).messages[direction];
    const uint64_t ms = at(i).at_ms - at(i - 1).at_ms;
    // Scaled to a second when the timer ran late; 0 for a step of no time.
    out.push_back(ms == 0 || after < before ? 0 : (after - before) * 1000 / ms);
  }
  return out;
}

std::map<std::string, uint64_t> increase(const std::map<std::string, uint64_t>& now,
                                         const std::map<std::string, uint64_t>& base) {
  std::map<std::string, uint64_t> out;
  for (const auto& [id, count] : now) {
    const auto it = base.find(id);
    const uint64_t before = it == base.end() ? 0 : it->second;
    if (count > before) out.emplace(id, count - before);
  }
  return out;
}

} // namespace wsgate::proxy::metrics
