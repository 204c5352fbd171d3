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

std::vector<std::string_view> splitKey(std::string_view key) {
  std::vector<std::string_view> out;
  while (true) {
    const std::size_t sep = key.find('\x1f');
    out.push_back(key.substr(0, sep));
    if (sep == std::string_view::npos) break;
    key.remove_prefix(sep + 1);
  }
  return out;
}

} // namespace wsgate::proxy::metrics
