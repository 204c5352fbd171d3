#include "common/config/loader.h"

namespace wsgate::config::detail {
namespace {

constexpr int64_t kMaxHealthThreshold = 1000;

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
    const auto* text = node.as_string();
    if (text == nullptr) {
      in.errors().add(node.source(), path,
                      "expected a backend string like \"127.0.0.1:9001\" or \"wss://host:443\", "
                      "got " +
                          std::string(describeType(node)));
      continue;
    }
    Parsed<Backend> backend = parseBackend(text->get());
    if (!backend) {
      in.errors().add(node.source(), path, std::move(backend.error));
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
               {"p2c", Balance::PowerOfTwoChoices}});
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
