#include "common/config/loader.h"

namespace wsgate::config::detail {
namespace {

constexpr int64_t kMaxHealthThreshold = 1000;
constexpr int64_t kMaxWeight = 1000;
constexpr int64_t kMaxSessions = int64_t{1} << 40;
constexpr double kMaxBalanceFactor = 100;

// hash_balance_factor: 0 (unbounded) or a number above 1 (an integer is taken as one).
void readBalanceFactor(TableReader& in, double& out) {
  const toml::node* node = in.get("hash_balance_factor");
  if (node == nullptr) return;
  std::optional<double> value;
  if (const auto* f = node->as_floating_point()) value = f->get();
  if (const auto* i = node->as_integer()) value = static_cast<double>(i->get());
  if (!value) {
    in.error(*node, "hash_balance_factor",
             "expected a number, got " + std::string(describeType(*node)));
  } else if (*value != 0 && !(*value > 1 && *value <= kMaxBalanceFactor)) {
    in.error(*node, "hash_balance_factor",
             "must be 0 (unbounded) or above 1 and at most 100 (1.25 lets a backend hold 25% "
             "more than the mean)");
  } else {
    out = *value;
  }
}

// What the probe puts into its request line and Host header: visible ASCII only.
bool isProbeToken(std::string_view text) {
  for (const char c : text) {
    if (c <= ' ' || c == 0x7f) return false;
  }
  return true;
}

void readHealth(TableReader& pool, std::optional<HealthCheck>& out) {
  const toml::table* table = pool.getTable("health");
  if (table == nullptr) return;
  TableReader in(*table, pool.pathOf("health"), pool.errors());
  HealthCheck health;
  in.readDuration("interval", health.interval, DurationRule::Positive);
  in.readDuration("timeout", health.timeout, DurationRule::Positive);
  std::string path;
  if (const toml::node* node = in.readString("path", path)) {
    if (path.empty() || path.front() != '/') {
      in.error(*node, "path", "must start with '/'");
    } else if (!isProbeToken(path)) {
      in.error(*node, "path", "must not contain spaces or control characters");
    } else {
      health.path = std::move(path);
    }
  }
  if (const toml::node* node = in.readString("host", health.host)) {
    if (!isProbeToken(health.host)) {
      in.error(*node, "host", "must not contain spaces or control characters");
      health.host.clear();
    }
  }
  in.readUnsigned("unhealthy_after", health.unhealthy_after, 1, kMaxHealthThreshold);
  in.readUnsigned("healthy_after", health.healthy_after, 1, kMaxHealthThreshold);
  in.reportUnknownKeys();
  out = std::move(health);
}

// A backend written as a string, or as a table { address, weight, max_connections }. Problems
// inside a table are reported here (the result then has an empty error).
Parsed<Backend> readBackend(TableReader& in, const toml::node& node, const std::string& path) {
  if (const auto* text = node.as_string()) return parseBackend(text->get());
  const auto* table = node.as_table();
  if (table == nullptr) {
    return Parsed<Backend>::failure(
        "expected a backend string like \"127.0.0.1:9001\", \"wss://host:443\" or a table "
        "{ address = \"...\", weight = N, max_connections = N }, got " +
        std::string(describeType(node)));
  }
  TableReader entry(*table, path, in.errors());
  std::string address;
  const toml::node* at = entry.readNonEmptyString("address", address, Need::Required);
  Backend out;
  entry.readUnsigned("weight", out.weight, 1, kMaxWeight);
  entry.readUnsigned("max_connections", out.max_connections, 0, kMaxSessions);
  entry.reportUnknownKeys();
  if (at == nullptr) return Parsed<Backend>::failure("");
  Parsed<Backend> parsed = parseBackend(address);
  if (!parsed) {
    entry.error(*at, "address", std::move(parsed.error));
    return Parsed<Backend>::failure("");
  }
  parsed.value->weight = out.weight;
  parsed.value->max_connections = out.max_connections;
  return parsed;
}

void readBackends(TableReader& in, Pool& pool) {
  const toml::array* array = in.getArray("backends", Need::Required);
  if (array == nullptr) return;
  if (array->empty()) {
    in.error(*array, "backends", "a pool needs at least one backend");
    return;
  }
  const std::string arrayPath = in.pathOf("backends");
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& node = *array->get(i);
    const std::string path = indexPath(arrayPath, i);
    Parsed<Backend> backend = readBackend(in, node, path);
    if (!backend) {
      if (!backend.error.empty()) in.errors().add(node.source(), path, std::move(backend.error));
      continue;
    }
    for (const Backend& other : pool.backends) {
      if (other.tls == backend.value->tls && other.address == backend.value->address) {
        in.errors().add(node.source(), path, "duplicate backend \"" + other.original + "\"");
        break;
      }
    }
    pool.backends.push_back(std::move(*backend.value));
  }
}

void readPool(TableReader& in, Config& config, Origins& origins) {
  Pool pool;
  Origins::Named origin{&in.table(), nullptr};
  origin.name = in.readNonEmptyString("name", pool.name, Need::Required);
  if (origin.name == nullptr) origins.pool_names_complete = false;
  in.readEnum("balance", pool.balance,
              {{"round_robin", Balance::RoundRobin},
               {"least_conn", Balance::LeastConn},
               {"consistent_hash", Balance::ConsistentHash},
               {"p2c", Balance::PowerOfTwoChoices},
               {"random", Balance::Random}});
  readBalanceFactor(in, pool.hash_balance_factor);
  std::string text;
  if (const toml::node* node = in.readString("hash_key", text)) {
    Parsed<HashKey> key = parseHashKey(text);
    if (key) {
      pool.hash_key = std::move(*key.value);
    } else {
      in.error(*node, "hash_key", std::move(key.error));
    }
  }
  readBackends(in, pool);
  in.readDuration("connect_timeout", pool.connect_timeout, DurationRule::Positive);
  in.readDuration("handshake_timeout", pool.handshake_timeout, DurationRule::Positive);
  in.readString("ca_file", pool.ca_file);
  const toml::node* cert = in.readString("client_cert", pool.client_cert);
  const toml::node* key = in.readString("client_key", pool.client_key);
  const bool invalidGiven = (cert == nullptr && in.table().contains("client_cert")) ||
                            (key == nullptr && in.table().contains("client_key"));
  if (!invalidGiven && pool.client_cert.empty() != pool.client_key.empty()) {
    const bool certMissing = pool.client_cert.empty();
    const toml::node* at = certMissing ? key : cert;
    if (at != nullptr) {
      in.error(*at, certMissing ? "client_key" : "client_cert",
               certMissing ? "client_key needs client_cert" : "client_cert needs client_key");
    }
  }
  in.readUnsigned("max_connections_per_backend", pool.max_connections_per_backend, 0, kMaxSessions);
  in.readDuration("slow_start", pool.slow_start, DurationRule::ZeroAllowed);
  in.readDuration("retry_after", pool.retry_after, DurationRule::Positive);
  readHealth(in, pool.health);
  readFleet(in, pool);
  config.pools.push_back(std::move(pool));
  origins.pools.push_back(origin);
}

} // namespace

void readPools(TableReader& root, Config& config, Origins& origins) {
  const toml::array* array = root.getArray("pools");
  if (array == nullptr) return;
  forEachTable(root, "pools", *array,
               [&](TableReader& in, std::size_t) { readPool(in, config, origins); });
}

} // namespace wsgate::config::detail
