#include "common/balance/pick.h"

#include <cmath>

namespace wsgate::balance {

std::optional<std::size_t> SmoothRoundRobin::pick(std::span<const Candidate> candidates) {
  if (scores_.size() != candidates.size()) reset(candidates.size());
  std::optional<std::size_t> best;
  double total = 0;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (!candidates[i].available) continue;
    scores_[i] += candidates[i].weight;
    total += candidates[i].weight;
    if (!best || scores_[i] > scores_[*best]) best = i;
  }
  if (best) scores_[*best] -= total;
  return best;
}

namespace {

// a < b in (live + 1) / weight, without dividing.
bool lessLoaded(const Candidate& a, const Candidate& b) {
  return static_cast<double>(a.live + 1) * b.weight < static_cast<double>(b.live + 1) * a.weight;
}

} // namespace

std::optional<std::size_t> pickLeastConn(std::span<const Candidate> candidates, Rng& rng) {
  std::optional<std::size_t> best;
  uint64_t ties = 0;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const Candidate& c = candidates[i];
    if (!c.available) continue;
    if (!best || lessLoaded(c, candidates[*best])) {
      best = i;
      ties = 1;
    } else if (!lessLoaded(candidates[*best], c)) {
      // Equal load: reservoir sampling keeps each tied backend with probability 1/ties.
      if (rng.below(++ties) == 0) best = i;
    }
  }
  return best;
}

namespace {

// Index of an available candidate drawn by weight, leaving out `skip`; nullopt when none.
std::optional<std::size_t> drawWeighted(std::span<const Candidate> candidates, Rng& rng,
                                        std::optional<std::size_t> skip) {
  double total = 0;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].available && i != skip) total += candidates[i].weight;
  }
  if (total <= 0) return std::nullopt;
  double point = rng.unit() * total;
  std::optional<std::size_t> last;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (!candidates[i].available || i == skip) continue;
    last = i;
    point -= candidates[i].weight;
    if (point < 0) return i;
  }
  return last; // rounding left a sliver past the end
}

} // namespace

std::optional<std::size_t> pickP2C(std::span<const Candidate> candidates, Rng& rng) {
  const auto first = drawWeighted(candidates, rng, std::nullopt);
  if (!first) return std::nullopt;
  const auto second = drawWeighted(candidates, rng, first);
  if (!second) return first;
  return lessLoaded(candidates[*second], candidates[*first]) ? second : first;
}

std::optional<std::size_t> pickRandom(std::span<const Candidate> candidates, Rng& rng) {
  return drawWeighted(candidates, rng, std::nullopt);
}

double slowStartFactor(int64_t elapsed_ms, int64_t window_ms) {
  if (window_ms <= 0 || elapsed_ms >= window_ms) return 1.0;
  const double ramp = static_cast<double>(elapsed_ms) / static_cast<double>(window_ms);
  return ramp < kMinRamp ? kMinRamp : ramp;
}

uint64_t jitteredSeconds(int64_t base_ms, double unit) {
  const double seconds = static_cast<double>(base_ms) / 1000.0 * (0.5 + unit);
  const auto rounded = static_cast<uint64_t>(std::llround(seconds));
  return rounded < 1 ? 1 : rounded;
}

uint64_t boundedCapacity(double factor, uint64_t total_live, double weight, double total_weight) {
  if (total_weight <= 0) return 0;
  const double share = factor * static_cast<double>(total_live + 1) * weight / total_weight;
  return static_cast<uint64_t>(std::ceil(share - 1e-9));
}

} // namespace wsgate::balance
