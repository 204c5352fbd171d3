// The balancing keys of a pool: algorithms, backends as tables, limits, slow start,
// Retry-After, and their errors with file:line:column.
#include "common/config/config.h"

#include <gtest/gtest.h>
#include <string>

namespace wsgate::config {
namespace {

constexpr std::string_view kHead = R"toml(
[[listeners]]
name = "public"
listen = "127.0.0.1:8080"
[[routes]]
listener = "public"
pool = "p"
[[pools]]
name = "p"
)toml";

LoadResult load(std::string_view pool_keys) {
  return loadConfigString(std::string(kHead) + std::string(pool_keys), "b.toml");
}

std::vector<std::string> errorsOf(std::string_view pool_keys) {
  std::vector<std::string> out;
  for (const ConfigError& e : load(pool_keys).errors)
    out.push_back(formatError(e));
  return out;
}

TEST(ConfigBalance, DefaultsAreDocumented) {
  const LoadResult r = load("backends = [\"127.0.0.1:9001\"]\n");
  ASSERT_TRUE(r.ok());
  const Pool& p = r.config->pools[0];
  EXPECT_EQ(p.balance, Balance::RoundRobin);
  EXPECT_EQ(p.hash_balance_factor, 0.0);
  EXPECT_EQ(p.max_connections_per_backend, 0U);
  EXPECT_EQ(p.slow_start, Duration{0});
  EXPECT_EQ(p.retry_after, std::chrono::seconds(2));
  EXPECT_EQ(p.backends[0].weight, 1U);
  EXPECT_EQ(p.backends[0].max_connections, 0U);
}

TEST(ConfigBalance, EveryAlgorithmAndTableBackends) {
  for (const auto& [name, balance] : {std::pair{"round_robin", Balance::RoundRobin},
                                      {"least_conn", Balance::LeastConn},
                                      {"p2c", Balance::PowerOfTwoChoices},
                                      {"random", Balance::Random},
                                      {"consistent_hash", Balance::ConsistentHash}}) {
    const LoadResult r = load(std::string("balance = \"") + name + "\"\n" + R"toml(
hash_key = "path"
hash_balance_factor = 1.25
max_connections_per_backend = 500
slow_start = "30s"
retry_after = "5s"
backends = ["127.0.0.1:9001", { address = "wss://b.example:9443", weight = 3, max_connections = 20 }]
)toml");
    ASSERT_TRUE(r.ok()) << name << ": " << (r.errors.empty() ? "" : formatError(r.errors[0]));
    const Pool& p = r.config->pools[0];
    EXPECT_EQ(p.balance, balance);
    EXPECT_EQ(toString(p.balance), name);
    EXPECT_EQ(p.hash_key.source, HashKeySource::Path);
    EXPECT_DOUBLE_EQ(p.hash_balance_factor, 1.25);
    EXPECT_EQ(p.max_connections_per_backend, 500U);
    EXPECT_EQ(p.slow_start, std::chrono::seconds(30));
    EXPECT_EQ(p.retry_after, std::chrono::seconds(5));
    ASSERT_EQ(p.backends.size(), 2U);
    EXPECT_EQ(p.backends[1].address.host, "b.example");
    EXPECT_TRUE(p.backends[1].tls);
    EXPECT_EQ(p.backends[1].weight, 3U);
    EXPECT_EQ(p.backends[1].max_connections, 20U);
  }
  const LoadResult integer = load("hash_balance_factor = 2\nbackends = [\"127.0.0.1:9001\"]\n");
  ASSERT_TRUE(integer.ok());
  EXPECT_DOUBLE_EQ(integer.config->pools[0].hash_balance_factor, 2.0);
}

TEST(ConfigBalance, Errors) {
  EXPECT_EQ(
      errorsOf(R"toml(balance = "weighted"
hash_balance_factor = 1.0
max_connections_per_backend = -1
retry_after = "0s"
slow_start = "-1s"
backends = [{ address = "127.0.0.1:1", weight = 0 }, { adress = "x:1" },
            { address = "http://x:1" }, "127.0.0.1:1", { address = "127.0.0.1:1" }]
)toml"),
      (std::vector<std::string>{
          "b.toml:10:11: pools[0].balance: invalid value \"weighted\"; expected one of "
          "\"round_robin\", \"least_conn\", \"consistent_hash\", \"p2c\", \"random\"",
          "b.toml:11:23: pools[0].hash_balance_factor: must be 0 (unbounded) or above 1 and "
          "at most 100 (1.25 lets a backend hold 25% more than the mean)",
          "b.toml:12:31: pools[0].max_connections_per_backend: -1 is out of range; expected "
          "0 to 1099511627776",
          "b.toml:13:15: pools[0].retry_after: must be greater than zero",
          "b.toml:14:14: pools[0].slow_start: a duration cannot be negative: \"-1s\"",
          "b.toml:15:49: pools[0].backends[0].weight: 0 is out of range; expected 1 to 1000",
          "b.toml:15:54: pools[0].backends[1].address: missing required key \"address\"",
          "b.toml:15:56: pools[0].backends[1].adress: unknown key \"adress\" (did you mean "
          "\"address\"?)",
          "b.toml:16:25: pools[0].backends[2].address: unsupported scheme \"http\" in backend "
          "\"http://x:1\"; use \"ws://\", \"wss://\" or plain host:port",
          "b.toml:16:41: pools[0].backends[3]: duplicate backend \"127.0.0.1:1\"",
          "b.toml:16:56: pools[0].backends[4]: duplicate backend \"127.0.0.1:1\"",
      }));
}

} // namespace
} // namespace wsgate::config
