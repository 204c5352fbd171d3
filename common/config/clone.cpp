#include "common/config/clone.h"

namespace wsgate::config {

std::shared_ptr<const Config> withBackends(const Config& config, std::string_view pool,
                                           std::vector<Backend> backends) {
  auto copy = std::make_shared<Config>();
  copy->server = config.server;
  copy->admin = config.admin;
  copy->log = config.log;
  copy->listeners = config.listeners;
  copy->routes = config.routes;
  copy->pools = config.pools;
  copy->policies = config.policies;
  copy->source = config.source;
  for (Route& route : copy->routes)
    route.policy_ptr = &copy->policies.at(route.policy);
  for (Pool& p : copy->pools) {
    if (p.name == pool) p.backends = std::move(backends);
  }
  return copy;
}

} // namespace wsgate::config
