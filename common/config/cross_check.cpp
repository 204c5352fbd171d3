#include "common/config/loader.h"

#include <map>
#include <tuple>

namespace wsgate::config::detail {
namespace {

std::string lineOf(const toml::node* node) {
  return node != nullptr ? " at line " + std::to_string(node->source().begin.line) : "";
}

// Reports every repeated name among `names`; `entries` is e.g. "listeners".
template <typename Item>
void checkUniqueNames(const std::vector<Item>& items, const std::vector<Origins::Named>& origins,
                      std::string_view entries, std::string_view what, ErrorSink& errors) {
  std::map<std::string_view, std::size_t> first;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (origins[i].name == nullptr) continue;
    const auto [it, inserted] = first.try_emplace(items[i].name, i);
    if (inserted) continue;
    errors.add(origins[i].name->source(), indexPath(entries, i) + ".name",
               "duplicate " + std::string(what) + " name \"" + items[i].name + "\" (first defined" +
                   lineOf(origins[it->second].name) + ")");
  }
}

template <typename Item>
std::size_t findByName(const std::vector<Item>& items, std::string_view name) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].name == name) return i;
  }
  return kUnresolved;
}

// Resolves route `i`'s listener, pool and policy; reports the names that do not exist.
void resolveRoute(Config& config, std::size_t i, const Origins::RouteOrigin& origin,
                  const Origins& origins, ErrorSink& errors) {
  Route& route = config.routes[i];
  const std::string path = indexPath("routes", i);
  if (origin.listener != nullptr) {
    route.listener_index = findByName(config.listeners, route.listener);
    if (route.listener_index == kUnresolved && origins.listener_names_complete) {
      errors.add(origin.listener->source(), path + ".listener",
                 "no listener named \"" + route.listener + "\"");
    }
  }
  if (origin.pool != nullptr) {
    route.pool_index = findByName(config.pools, route.pool);
    if (route.pool_index == kUnresolved && origins.pool_names_complete) {
      errors.add(origin.pool->source(), path + ".pool", "no pool named \"" + route.pool + "\"");
    }
  }
  const auto policy = config.policies.find(route.policy);
  if (policy != config.policies.end()) {
    route.policy_ptr = &policy->second;
  } else if (origin.policy != nullptr) {
    errors.add(origin.policy->source(), path + ".policy",
               "no policy named \"" + route.policy + "\" (define it as [policies." + route.policy +
                   "])");
  }
}

// Two routes with the same listener, host and path prefix could never both match.
void checkUniqueRoutes(const Config& config, const Origins& origins, ErrorSink& errors) {
  // Keys view the strings of config.routes, which outlive the maps.
  std::map<std::tuple<std::string_view, std::string_view, std::string_view>, std::size_t> first;
  std::map<std::string_view, std::size_t> names;
  for (std::size_t i = 0; i < config.routes.size(); ++i) {
    const Route& route = config.routes[i];
    const Origins::RouteOrigin& origin = origins.routes[i];
    const std::string path = indexPath("routes", i);
    if (origin.name != nullptr) {
      const auto [it, inserted] = names.try_emplace(route.name, i);
      if (!inserted) {
        errors.add(origin.name->source(), path + ".name",
                   "duplicate route name \"" + route.name + "\" (first used by " +
                       indexPath("routes", it->second) + ")");
      }
    }
    if (origin.listener == nullptr || !origin.match_valid) continue;
    const auto [it, inserted] =
        first.try_emplace(std::tuple<std::string_view, std::string_view, std::string_view>(
                              route.listener, route.host, route.path_prefix),
                          i);
    if (inserted) continue;
    // Point at the most specific key written; a route without host and path_prefix
    // is reported at its [[routes]] header.
    const toml::node* at = origin.path_prefix != nullptr ? origin.path_prefix
                           : origin.host != nullptr      ? origin.host
                                                         : origin.table;
    errors.add(at->source(), path,
               "duplicate route: listener \"" + route.listener + "\", host \"" + route.host +
                   "\", path_prefix \"" + route.path_prefix + "\" is already used by " +
                   indexPath("routes", it->second));
  }
}

} // namespace

void crossCheck(Config& config, const Origins& origins, ErrorSink& errors) {
  checkUniqueNames(config.listeners, origins.listeners, "listeners", "listener", errors);
  checkUniqueNames(config.pools, origins.pools, "pools", "pool", errors);
  for (std::size_t i = 0; i < config.routes.size(); ++i) {
    resolveRoute(config, i, origins.routes[i], origins, errors);
  }
  checkUniqueRoutes(config, origins, errors);
}

} // namespace wsgate::config::detail
