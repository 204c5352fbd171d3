// The balancers' view of each backend as Prometheus families: live sessions over all workers,
// picks, skips by reason, and the effective weight (slow start shows as a ramp).
#include "proxy/metrics/collector.h"
#include "proxy/metrics/family.h"
#include "proxy/metrics/names.h"

#include <map>
#include <utility>

namespace wsgate::proxy::metrics {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

void addBalancerFamilies(std::vector<MetricFamily>& out,
                         const std::vector<BalancerSample>& samples) {
  // A ws:// and a wss:// backend on the same host:port share a label: their series add up.
  std::map<std::pair<std::string, std::string>, BalancerSample> merged;
  for (const BalancerSample& s : samples) {
    BalancerSample& m = merged[{s.pool, s.backend}];
    m.live += s.live;
    m.picks += s.picks;
    for (std::size_t i = 0; i < s.skips.size(); ++i)
      m.skips[i] += s.skips[i];
    m.effective_weight += s.effective_weight;
  }
  MetricFamily live =
      family(name::kBackendLiveSessions,
             "Sessions bound to each backend over all workers, from the pick to the session's end "
             "(what least_conn, p2c and bounded loads count).",
             MetricType::Gauge);
  MetricFamily picks = family(name::kBackendPicks, "Sessions the balancer bound to each backend.",
                              MetricType::Counter);
  MetricFamily skips = family(
      name::kBackendSkips,
      "Picks that passed a backend over: down, full (max_connections) or over the bounded load.",
      MetricType::Counter);
  MetricFamily weight = family(name::kBackendWeight,
                               "Each backend's weight as the balancer uses it now (slow start "
                               "ramps it; 0 while down).",
                               MetricType::Gauge);
  for (const auto& [key, s] : merged) {
    const std::vector<ClientMetric::Label> labels{{std::string(label::kPool), key.first},
                                                  {std::string(label::kBackend), key.second}};
    live.metric.push_back(sample(labels, MetricType::Gauge, static_cast<double>(s.live)));
    picks.metric.push_back(sample(labels, MetricType::Counter, static_cast<double>(s.picks)));
    weight.metric.push_back(sample(labels, MetricType::Gauge, s.effective_weight));
    for (std::size_t i = 0; i < kSkipReasons.size(); ++i) {
      auto with_reason = labels;
      with_reason.push_back({std::string(label::kReason), std::string(kSkipReasons[i])});
      skips.metric.push_back(
          sample(std::move(with_reason), MetricType::Counter, static_cast<double>(s.skips[i])));
    }
  }
  out.push_back(std::move(live));
  out.push_back(std::move(picks));
  out.push_back(std::move(skips));
  out.push_back(std::move(weight));
}

} // namespace wsgate::proxy::metrics
