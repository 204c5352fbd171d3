#include "common/config/config.h"
#include "common/config/routing.h"

#include <gtest/gtest.h>

namespace wsgate::config {
namespace {

std::shared_ptr<const Config> load(const std::string& toml) {
  LoadResult result = loadConfigString(toml, "test.toml");
  EXPECT_TRUE(result.ok()) << (result.errors.empty() ? "" : formatError(result.errors[0]));
  return result.config;
}

const char* kRoutes = R"(
[[listeners]]
name = "a"
listen = "127.0.0.1:0"
[[listeners]]
name = "b"
listen = "127.0.0.1:0"
[[pools]]
name = "p"
backends = ["127.0.0.1:1"]
[[routes]]
name = "any-root"
listener = "a"
pool = "p"
[[routes]]
name = "any-chat"
listener = "a"
path_prefix = "/chat"
pool = "p"
[[routes]]
name = "wild"
listener = "a"
host = "*.example.com"
pool = "p"
[[routes]]
name = "exact"
listener = "a"
host = "api.example.com"
path_prefix = "/v1"
pool = "p"
[[routes]]
name = "b-only"
listener = "b"
path_prefix = "/b"
pool = "p"
)";

std::string routeName(const Config& config, std::size_t listener, std::string_view host,
                      std::string_view path) {
  const Route* route = matchRoute(config, listener, host, path);
  return route == nullptr ? "none" : route->name;
}

TEST(Routing, MostSpecificHostThenLongestPrefix) {
  const auto config = load(kRoutes);
  ASSERT_TRUE(config);
  EXPECT_EQ(routeName(*config, 0, "localhost:8080", "/"), "any-root");
  EXPECT_EQ(routeName(*config, 0, "localhost", "/chat/room"), "any-chat");
  EXPECT_EQ(routeName(*config, 0, "www.example.com", "/chat"), "wild");
  EXPECT_EQ(routeName(*config, 0, "API.Example.com:443", "/v1/x"), "exact");
  EXPECT_EQ(routeName(*config, 0, "api.example.com", "/v2"), "wild");
  EXPECT_EQ(routeName(*config, 1, "localhost", "/"), "none");
  EXPECT_EQ(routeName(*config, 1, "localhost", "/b/1"), "b-only");
}

TEST(Routing, HostWithoutPort) {
  EXPECT_EQ(hostWithoutPort("Chat.Example.com:8080"), "chat.example.com");
  EXPECT_EQ(hostWithoutPort("[::1]:8080"), "[::1]");
  EXPECT_EQ(hostWithoutPort("localhost"), "localhost");
  EXPECT_TRUE(hostMatches("*.example.com", "a.b.example.com"));
  EXPECT_FALSE(hostMatches("*.example.com", "example.com"));
}

TEST(Routing, Origins) {
  Policy policy;
  EXPECT_TRUE(originAllowed(policy, "https://evil.test"));
  policy.allowed_origins = {"https://app.example.com", "*.trusted.org"};
  EXPECT_TRUE(originAllowed(policy, "https://APP.example.com"));
  EXPECT_TRUE(originAllowed(policy, "https://x.trusted.org:8443"));
  EXPECT_FALSE(originAllowed(policy, "https://trusted.org"));
  EXPECT_FALSE(originAllowed(policy, "https://app.example.com.evil.test"));
  EXPECT_FALSE(originAllowed(policy, "null"));
}

} // namespace
} // namespace wsgate::config
