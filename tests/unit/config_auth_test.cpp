// [auth.NAME] tables and the policy keys auth and max_handshakes_per_second_per_ip: values,
// defaults and errors with their exact positions.
#include "common/config/config.h"

#include <gtest/gtest.h>

namespace wsgate::config {
namespace {

using Lines = std::vector<std::string>;

constexpr std::string_view kTail = R"toml(
[[listeners]]
name = "public"
listen = "127.0.0.1:8080"
[[routes]]
listener = "public"
pool = "echo"
[[pools]]
name = "echo"
backends = ["127.0.0.1:9001"]
)toml";

LoadResult load(std::string_view head) {
  return loadConfigString(std::string(head) + std::string(kTail), "auth.toml");
}

Lines errorsOf(std::string_view head) {
  LoadResult result = load(head);
  EXPECT_FALSE(result.ok());
  Lines lines;
  for (const ConfigError& error : result.errors)
    lines.push_back(formatError(error));
  return lines;
}

TEST(ConfigAuth, ReadsEveryKey) {
  const LoadResult result = load(R"toml(
[auth.users]
type = "jwt"
token_from = ["header:Authorization", "query:access_token", "cookie:token", "subprotocol"]
algorithms = ["RS256", "ES256"]
keys = "conf/jwks.json"
issuer = "https://auth.example.com"
audience = "chat"
leeway = "5s"
expiry = "ignore"
forward_claims = { sub = "X-User-Id", tenant = "X-Tenant" }
[auth.svc]
type = "bearer"
tokens_file = "tokens.txt"
[policies.default]
auth = "users"
max_handshakes_per_second_per_ip = 7
)toml");
  ASSERT_TRUE(result.ok()) << formatError(result.errors.at(0));
  const Auth& users = result.config->auth.at("users");
  EXPECT_EQ(users.type, AuthType::Jwt);
  EXPECT_EQ(users.token_from.size(), 4U);
  EXPECT_EQ(users.algorithms, (std::vector<std::string>{"RS256", "ES256"}));
  EXPECT_EQ(users.keys, "conf/jwks.json");
  EXPECT_EQ(users.issuer, "https://auth.example.com");
  EXPECT_EQ(users.audience, "chat");
  EXPECT_EQ(users.leeway, std::chrono::seconds(5));
  EXPECT_EQ(users.expiry, TokenExpiry::Ignore);
  ASSERT_EQ(users.forward_claims.size(), 2U);
  EXPECT_EQ(result.config->auth.at("svc").type, AuthType::Bearer);
  const Policy& policy = result.config->defaultPolicy();
  EXPECT_EQ(policy.auth, "users");
  EXPECT_EQ(policy.auth_ptr, &users);
  EXPECT_EQ(policy.max_handshakes_per_second_per_ip, 7U);
}

TEST(ConfigAuth, Defaults) {
  const LoadResult result = load(R"toml(
[auth.a]
algorithms = ["HS256"]
keys = "secret"
)toml");
  ASSERT_TRUE(result.ok());
  const Auth& a = result.config->auth.at("a");
  EXPECT_EQ(a.token_from, (std::vector<std::string>{"header:Authorization"}));
  EXPECT_EQ(a.leeway, std::chrono::seconds(30));
  EXPECT_EQ(a.expiry, TokenExpiry::Close);
  EXPECT_EQ(result.config->defaultPolicy().auth_ptr, nullptr);
  EXPECT_EQ(result.config->defaultPolicy().max_handshakes_per_second_per_ip, 0U);
}

TEST(ConfigAuth, UnknownAuthNameIsAnErrorAtItsValue) {
  EXPECT_EQ(errorsOf(R"toml(
[policies.default]
auth = "nobody"
)toml"),
            Lines{"auth.toml:3:8: policies.default.auth: no [auth.nobody] table"});
}

TEST(ConfigAuth, AlgorithmErrors) {
  EXPECT_EQ(errorsOf(R"toml(
[auth.a]
algorithms = ["RS256", "none"]
keys = "k"
)toml"),
            Lines{"auth.toml:3:24: auth.a.algorithms[1]: \"none\" (unsigned tokens) is never "
                  "accepted"});
  EXPECT_EQ(errorsOf(R"toml(
[auth.a]
algorithms = ["RS1"]
keys = "k"
)toml"),
            Lines{"auth.toml:3:15: auth.a.algorithms[0]: unsupported algorithm \"RS1\"; expected "
                  "HS256, HS384, HS512, RS256, RS384, RS512, PS256, ES256, ES384 or EdDSA"});
}

TEST(ConfigAuth, TypeNeedsItsKeysAndSourcesAreChecked) {
  EXPECT_EQ(errorsOf(R"toml(
[auth.a]
type = "bearer"
keys = "k"
)toml"),
            (Lines{"auth.toml:3:8: auth.a.tokens_file: type \"bearer\" needs tokens_file",
                   "auth.toml:4:8: auth.a.keys: only type \"jwt\" uses keys"}));
  EXPECT_EQ(errorsOf(R"toml(
[auth.a]
algorithms = ["HS256"]
keys = "k"
token_from = ["body:x"]
forward_claims = { sub = "Host" }
)toml"),
            (Lines{"auth.toml:5:15: auth.a.token_from[0]: invalid token source \"body:x\"; "
                   "expected \"header:NAME\", \"query:NAME\", \"cookie:NAME\" or \"subprotocol\"",
                   "auth.toml:6:26: auth.a.forward_claims.sub: \"Host\" is not a header name a "
                   "claim may be forwarded in"}));
}

} // namespace
} // namespace wsgate::config
