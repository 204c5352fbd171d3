#include "common/config/routing.h"

#include <cctype>
#include <string>

namespace wsgate::config {

namespace {

std::string lowered(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool endsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// Higher is more specific: exact beats any suffix, a longer suffix beats a shorter one.
std::size_t hostRank(std::string_view pattern) {
  if (pattern == "*") return 0;
  if (pattern.starts_with("*.")) return pattern.size();
  return static_cast<std::size_t>(-1);
}

} // namespace

std::string hostWithoutPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const std::size_t close = host.find(']');
    return lowered(host.substr(0, close == std::string_view::npos ? host.size() : close + 1));
  }
  const std::size_t colon = host.rfind(':');
  return lowered(colon == std::string_view::npos ? host : host.substr(0, colon));
}

bool hostMatches(std::string_view pattern, std::string_view host) {
  if (pattern == "*") return true;
  if (pattern.starts_with("*.")) return endsWith(host, pattern.substr(1));
  return pattern == host;
}

const Route* matchRoute(const Config& config, std::size_t listener_index, std::string_view host,
                        std::string_view path) {
  const std::string name = hostWithoutPort(host);
  const Route* best = nullptr;
  std::size_t best_rank = 0;
  for (const Route& route : config.routes) {
    if (route.listener_index != listener_index) continue;
    if (!hostMatches(route.host, name) || !path.starts_with(route.path_prefix)) continue;
    const std::size_t rank = hostRank(route.host);
    if (best == nullptr || rank > best_rank ||
        (rank == best_rank && route.path_prefix.size() > best->path_prefix.size())) {
      best = &route;
      best_rank = rank;
    }
  }
  return best;
}

bool originAllowed(const Policy& policy, std::string_view origin) {
  if (policy.allowed_origins.empty()) return true;
  const std::string value = lowered(origin);
  // The host part of the origin: after "scheme://", before any ":port".
  std::string_view host = value;
  if (const std::size_t scheme = host.find("://"); scheme != std::string_view::npos) {
    host.remove_prefix(scheme + 3);
  }
  if (const std::size_t colon = host.rfind(':');
      colon != std::string_view::npos && host.find(']') == std::string_view::npos) {
    host = host.substr(0, colon);
  }
  for (const std::string& pattern : policy.allowed_origins) {
    if (pattern.starts_with("*.")) {
      if (endsWith(host, std::string_view(pattern).substr(1))) return true;
    } else if (pattern == value) {
      return true;
    }
  }
  return false;
}

} // namespace wsgate::config
