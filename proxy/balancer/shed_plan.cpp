#include "proxy/balancer/shed_plan.h"

namespace wsgate::proxy {

std::vector<double> fairShares(std::span<const BackendLoad> loads) {
  double weights = 0;
  double sessions = 0;
  for (const BackendLoad& load : loads) {
    if (!load.eligible) continue;
    weights += load.weight;
    sessions += static_cast<double>(load.sessions);
  }
  std::vector<double> shares(loads.size(), 0.0);
  if (weights <= 0) return shares;
  for (std::size_t i = 0; i < loads.size(); ++i) {
    if (loads[i].eligible) shares[i] = sessions * loads[i].weight / weights;
  }
  return shares;
}

std::optional<std::size_t> mostOverloaded(std::span<const BackendLoad> loads, double tolerance) {
  const std::vector<double> shares = fairShares(loads);
  std::optional<std::size_t> worst;
  double worst_ratio = 0;
  for (std::size_t i = 0; i < loads.size(); ++i) {
    if (!loads[i].eligible || shares[i] <= 0) continue;
    const auto sessions = static_cast<double>(loads[i].sessions);
    if (sessions <= (1 + tolerance) * shares[i]) continue;
    // Shedding one session must leave it no lower than its share: else the spread is as good
    // as whole sessions allow.
    if (sessions - 1 < shares[i]) continue;
    const double ratio = sessions / shares[i];
    if (!worst || ratio > worst_ratio) {
      worst = i;
      worst_ratio = ratio;
    }
  }
  return worst;
}

} // namespace wsgate::proxy
