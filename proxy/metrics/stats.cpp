#include "proxy/metrics/stats.h"

namespace wsgate::proxy::metrics {

std::string key(std::initializer_list<std::string_view> values) {
  std::string out;
  bool first = true;
  for (const std::string_view value : values) {
    if (!first) out += '\x1f';
    out.append(value);
    first = false;
  }
  return out;
}

} // namespace wsgate::proxy::metrics
