// Backend health: down after `unhealthy_after` failed connects in a row, up again after
// `healthy_after` successful ones; readiness needs a backend up in every routed pool.
#include "common/config/config.h"
#include "proxy/metrics/backend_health.h"

#include <gtest/gtest.h>

namespace wsgate::proxy::metrics {
namespace {

std::shared_ptr<const config::Config> load(const std::string& extra) {
  const std::string text = R"(
[[listeners]]
name = "public"
listen = "127.0.0.1:0"
[[pools]]
name = "a"
backends = ["127.0.0.1:1", "127.0.0.1:2"]
[[pools]]
name = "unused"
backends = ["127.0.0.1:3"]
[[routes]]
listener = "public"
pool = "a"
)" + extra;
  config::LoadResult result = config::loadConfigString(text, "test.toml");
  EXPECT_TRUE(result.ok()) << (result.errors.empty() ? "" : config::formatError(result.errors[0]));
  return result.config;
}

TEST(MetricsHealth, DownAfterThreeFailuresInARow) {
  const auto config = load("");
  const config::Pool& pool = config->pools[0];
  BackendHealth health;
  health.recordConnect(pool, "127.0.0.1:1", false);
  health.recordConnect(pool, "127.0.0.1:1", false);
  health.recordConnect(pool, "127.0.0.1:1", true); // the streak ends
  health.recordConnect(pool, "127.0.0.1:1", false);
  health.recordConnect(pool, "127.0.0.1:1", false);
  EXPECT_TRUE(health.isUp("a", "127.0.0.1:1"));
  health.recordConnect(pool, "127.0.0.1:1", false);
  EXPECT_FALSE(health.isUp("a", "127.0.0.1:1"));
  EXPECT_TRUE(health.isUp("a", "127.0.0.1:2"));
  ASSERT_EQ(health.downBackends().size(), 1u);
  EXPECT_EQ(health.downBackends()[0].first, "a");
  EXPECT_EQ(health.downBackends()[0].second, "127.0.0.1:1");
  EXPECT_TRUE(health.poolsWithoutBackendUp(*config).empty());
  health.recordConnect(pool, "127.0.0.1:1", true);
  EXPECT_TRUE(health.isUp("a", "127.0.0.1:1"));
  EXPECT_TRUE(health.downBackends().empty());
}

TEST(MetricsHealth, ThresholdsFromTheHealthTable) {
  const auto config = load(R"(
[pools.health]
unhealthy_after = 1
healthy_after = 2
)");
  const config::Pool& pool = config->pools[1];
  ASSERT_EQ(pool.name, "unused");
  BackendHealth health;
  health.recordConnect(pool, "127.0.0.1:3", false);
  EXPECT_FALSE(health.isUp("unused", "127.0.0.1:3"));
  health.recordConnect(pool, "127.0.0.1:3", true);
  EXPECT_FALSE(health.isUp("unused", "127.0.0.1:3"));
  health.recordConnect(pool, "127.0.0.1:3", true);
  EXPECT_TRUE(health.isUp("unused", "127.0.0.1:3"));
}

TEST(MetricsHealth, NotReadyWhenARoutedPoolHasNoBackendUp) {
  const auto config = load("");
  BackendHealth health;
  for (int i = 0; i < 3; ++i) {
    health.recordConnect(config->pools[0], "127.0.0.1:1", false);
    health.recordConnect(config->pools[1], "127.0.0.1:3", false); // no route uses it
  }
  EXPECT_TRUE(health.poolsWithoutBackendUp(*config).empty());
  for (int i = 0; i < 3; ++i)
    health.recordConnect(config->pools[0], "127.0.0.1:2", false);
  const auto pools = health.poolsWithoutBackendUp(*config);
  ASSERT_EQ(pools.size(), 1u);
  EXPECT_EQ(pools[0], "a");
}

} // namespace
} // namespace wsgate::proxy::metrics
