#pragma once

// The two builders every scrape-time family of wsgate uses: an empty family with its name, help
// and type, and one sample of a counter or gauge.
#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wsgate::proxy::metrics {

inline prometheus::MetricFamily family(std::string_view name, std::string_view help,
                                       prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::string(name);
  f.help = std::string(help);
  f.type = type;
  return f;
}

// A counter sample for MetricType::Counter, a gauge sample for every other type.
inline prometheus::ClientMetric sample(std::vector<prometheus::ClientMetric::Label> labels,
                                       prometheus::MetricType type, double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return m;
}

} // namespace wsgate::proxy::metrics
