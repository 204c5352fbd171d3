#pragma once

// Internal to the config loader: the sections of the file, read into a Config, and the
// checks that span sections. Each function reports into the ErrorSink and keeps going,
// so one load reports every problem it can find.

#include "common/config/config.h"
#include "common/config/toml_reader.h"

#include <toml++/toml.h>
#include <vector>

namespace wsgate::config::detail {

// Where the values that the cross-section checks look at came from, parallel to the
// vectors of the Config being built. A node is nullptr when its key was absent or its
// value invalid (and already reported).
struct Origins {
  struct Named {
    const toml::table* table = nullptr;
    const toml::node* name = nullptr;
  };
  struct RouteOrigin {
    const toml::table* table = nullptr;
    const toml::node* name = nullptr;
    const toml::node* listener = nullptr;
    const toml::node* host = nullptr;
    const toml::node* path_prefix = nullptr;
    const toml::node* pool = nullptr;
    const toml::node* policy = nullptr;
    // False when host or path_prefix was given but invalid: the route's key for the
    // uniqueness check is then unknown.
    bool match_valid = true;
  };
  std::vector<Named> listeners;
  std::vector<Named> pools;
  std::vector<RouteOrigin> routes;
  // False when some listener's or pool's name is missing or invalid: a route naming an
  // unknown one may then refer to that entry, so it is not reported again.
  bool listener_names_complete = true;
  bool pool_names_complete = true;
};

// Calls `fn(reader, index)` for each table of the array of tables `array` (found under
// `key` of `parent`), then reports the table's unknown keys; other elements are errors.
template <typename Fn>
void forEachTable(TableReader& parent, std::string_view key, const toml::array& array, Fn&& fn) {
  const std::string arrayPath = parent.pathOf(key);
  for (std::size_t i = 0; i < array.size(); ++i) {
    const toml::node& node = *array.get(i);
    std::string path = indexPath(arrayPath, i);
    if (const auto* table = node.as_table()) {
      TableReader reader(*table, std::move(path), parent.errors());
      fn(reader, i);
      reader.reportUnknownKeys();
    } else {
      parent.errors().add(node.source(), std::move(path),
                          "expected a table, got " + std::string(describeType(node)));
    }
  }
}

// loader.cpp
void readConfig(const toml::table& root, Config& config, ErrorSink& errors);
void readServer(TableReader& root, Server& server);
void readAdmin(TableReader& root, Admin& admin);
void readLog(TableReader& root, Log& log);
void readListeners(TableReader& root, Config& config, Origins& origins);
void readRoutes(TableReader& root, Config& config, Origins& origins);

// pools.cpp
void readPools(TableReader& root, Config& config, Origins& origins);
// fleet.cpp: discovery, resolve_interval and [pools.rebalance] of one pool.
void readFleet(TableReader& in, Pool& pool);

// policies.cpp (after readAuth: a policy's `auth` is resolved there)
void readPolicies(TableReader& root, Config& config);

// auth.cpp
void readAuth(TableReader& root, Config& config);

// cross_check.cpp: unique names, route references (resolving the indices and the
// policy pointer of each route) and unique routes.
void crossCheck(Config& config, const Origins& origins, ErrorSink& errors);

} // namespace wsgate::config::detail
