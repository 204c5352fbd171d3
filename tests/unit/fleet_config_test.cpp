// [pools.health] timeout/host, discovery, resolve_interval and [pools.rebalance]: defaults,
// values and the errors with their positions.
#include "common/config/clone.h"
#include "common/config/config.h"

#include <gtest/gtest.h>

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
backends = ["127.0.0.1:9001", "fleet.internal:9001"]
)toml";

LoadResult load(std::string_view tail) {
  return loadConfigString(std::string(kHead) + std::string(tail), "t.toml");
}

std::vector<std::string> errorsOf(std::string_view tail) {
  std::vector<std::string> out;
  for (const ConfigError& error : load(tail).errors)
    out.push_back(formatError(error));
  return out;
}

TEST(FleetConfig, Defaults) {
  const LoadResult result = load("");
  ASSERT_TRUE(result.ok());
  const Pool& pool = result.config->pools[0];
  EXPECT_EQ(pool.discovery, Discovery::Static);
  EXPECT_EQ(pool.resolve_interval, std::chrono::seconds(5));
  EXPECT_FALSE(pool.rebalance.enabled);
  EXPECT_DOUBLE_EQ(pool.rebalance.tolerance, 0.25);
  EXPECT_EQ(pool.rebalance.rate, 10U);
  EXPECT_EQ(pool.rebalance.close_code, 1012);
  EXPECT_EQ(pool.rebalance.drain_removed, Duration(0));
  EXPECT_FALSE(pool.health.has_value());
  const LoadResult with_health = load("  [pools.health]\n");
  ASSERT_TRUE(with_health.ok());
  EXPECT_EQ(with_health.config->pools[0].health->timeout, std::chrono::seconds(2));
  EXPECT_EQ(with_health.config->pools[0].health->host, "");
}

TEST(FleetConfig, Values) {
  const LoadResult result = load(R"toml(discovery = "dns"
resolve_interval = "250ms"
  [pools.health]
  interval = "1s"
  timeout = "300ms"
  path = "/ws/health?probe=1"
  host = "chat.example.com"
  [pools.rebalance]
  enabled = true
  tolerance = 0.1
  rate = 25
  close_code = 1013
  drain_removed = "2m"
)toml");
  ASSERT_TRUE(result.ok()) << formatError(result.errors.at(0));
  const Pool& pool = result.config->pools[0];
  EXPECT_EQ(pool.discovery, Discovery::Dns);
  EXPECT_EQ(pool.resolve_interval, Duration(250));
  EXPECT_EQ(pool.health->timeout, Duration(300));
  EXPECT_EQ(pool.health->path, "/ws/health?probe=1");
  EXPECT_EQ(pool.health->host, "chat.example.com");
  EXPECT_TRUE(pool.rebalance.enabled);
  EXPECT_DOUBLE_EQ(pool.rebalance.tolerance, 0.1);
  EXPECT_EQ(pool.rebalance.rate, 25U);
  EXPECT_EQ(pool.rebalance.close_code, 1013);
  EXPECT_EQ(pool.rebalance.drain_removed, std::chrono::minutes(2));
  // An integer tolerance is a number too.
  const LoadResult integer = load("  [pools.rebalance]\n  tolerance = 1\n");
  ASSERT_TRUE(integer.ok());
  EXPECT_DOUBLE_EQ(integer.config->pools[0].rebalance.tolerance, 1.0);
}

TEST(FleetConfig, Errors) {
  EXPECT_EQ(errorsOf("discovery = \"consul\"\nresolve_interval = \"0s\"\n"),
            (std::vector<std::string>{
                "t.toml:11:13: pools[0].discovery: invalid value \"consul\"; expected one of "
                "\"static\", \"dns\"",
                "t.toml:12:20: pools[0].resolve_interval: must be greater than zero",
            }));
  EXPECT_EQ(errorsOf(R"toml(  [pools.health]
  timeout = "0s"
  path = "/a b"
  host = "evil\r\nX: 1"
  [pools.rebalance]
  tolerance = -0.5
  rate = 0
  close_code = 1006
  drain_removed = "soon"
  shed = true
)toml"),
            (std::vector<std::string>{
                "t.toml:12:13: pools[0].health.timeout: must be greater than zero",
                "t.toml:13:10: pools[0].health.path: must not contain spaces or control "
                "characters",
                "t.toml:14:10: pools[0].health.host: must not contain spaces or control "
                "characters",
                "t.toml:16:15: pools[0].rebalance.tolerance: must be between 0 and 100 (0.25 = "
                "25% above the fair share)",
                "t.toml:17:10: pools[0].rebalance.rate: 0 is out of range; expected 1 to 10000",
                "t.toml:18:16: pools[0].rebalance.close_code: 1006 is not a close code that may "
                "be sent; use 1012 (Service Restart), 1013 (Try Again Later), or another of "
                "1000-1003, 1007-1014, 3000-4999",
                "t.toml:19:19: pools[0].rebalance.drain_removed: invalid duration \"soon\"; "
                "expected a number with a unit like \"250ms\", \"30s\", \"5m\", \"1h\" or "
                "\"1m30s\"",
                "t.toml:20:3: pools[0].rebalance.shed: unknown key \"shed\"",
            }));
}

TEST(FleetConfig, WithBackendsCopiesEverythingElse) {
  const LoadResult result = load("");
  ASSERT_TRUE(result.ok());
  Backend resolved = result.config->pools[0].backends[1];
  resolved.address.host = "10.0.0.7";
  const auto copy = withBackends(*result.config, "p", {resolved});
  ASSERT_EQ(copy->pools[0].backends.size(), 1U);
  EXPECT_EQ(copy->pools[0].backends[0].address.host, "10.0.0.7");
  EXPECT_EQ(copy->pools[0].backends[0].original, "fleet.internal:9001");
  ASSERT_EQ(copy->routes.size(), 1U);
  EXPECT_EQ(copy->routes[0].policy_ptr, &copy->defaultPolicy());
  EXPECT_EQ(copy->routes[0].pool_index, result.config->routes[0].pool_index);
  EXPECT_EQ(result.config->pools[0].backends.size(), 2U);
}

} // namespace
} // namespace wsgate::config
