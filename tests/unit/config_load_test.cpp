#include "common/config/config.h"

#include <cstdio>
#include <filesystem>
#include <gtest/gtest.h>

namespace wsgate::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

// CONFIG.md's example, verbatim. Its certificate files do not exist: the loader does not
// open files, the TLS layer does.
constexpr std::string_view kConfigMdExample = R"toml(
[server]
workers = 0                     # 0 = one per CPU core
max_connections = 100000        # all listeners together; over it: 503
drain_timeout = "30s"           # SIGTERM: time given to close handshakes

[admin]
listen = "127.0.0.1:9901"       # GET /metrics /healthz /readyz /connections

[log]
level = "info"                  # error | warn | info | debug
format = "json"                 # json | text
access_log = "stderr"           # stderr | stdout | off | a file path

[[listeners]]
name = "public"
listen = "0.0.0.0:8080"         # host:port, [::]:port
  [listeners.tls]               # optional: wss on this listener
  cert = "conf/certs/server.crt"
  key = "conf/certs/server.key"
  min_version = "1.2"           # "1.2" | "1.3"
  [[listeners.tls.sni]]         # optional, repeatable: extra certificates chosen by SNI
  server_name = "alt.example.com"
  cert = "conf/certs/alt.crt"
  key = "conf/certs/alt.key"

[[routes]]
listener = "public"
host = "*"                      # exact or *.suffix; "*" matches any
path_prefix = "/"               # longest prefix wins
pool = "echo"
policy = "default"              # name of a [policies.NAME] table

[[pools]]
name = "echo"
balance = "round_robin"         # round_robin | least_conn | consistent_hash | p2c
hash_key = "ip"                 # consistent_hash: ip | header:NAME | cookie:NAME | query:NAME
backends = ["127.0.0.1:9001"]   # host:port, or "wss://host:port" for TLS to the backend
connect_timeout = "5s"
handshake_timeout = "10s"
ca_file = ""                    # wss:// backends: CA bundle to verify them (default: system store)
client_cert = ""                # wss:// backends: optional client certificate (mTLS) ...
client_key = ""                 # ... and its key
  [pools.health]                # optional active checks
  interval = "5s"
  path = "/"                    # a WebSocket upgrade probe on this path
  unhealthy_after = 3
  healthy_after = 2

[policies.default]
max_frame_size = "1MiB"         # over it: close 1009
max_message_size = "4MiB"       # whole message, all fragments: close 1009
utf8 = "strict"                 # strict (close 1007) | off
allow_binary = true             # false: a binary message closes with 1008
ping_interval = "30s"           # wsgate's own pings to clients; "0s" disables
pong_timeout = "10s"            # no pong by then: the client is gone
idle_timeout = "0s"             # no data either way for this long: close 1001; 0 = off
handshake_timeout = "10s"       # the client's request must be complete by then
allowed_origins = []            # empty = any; else exact origins or "*.example.com"
max_connections_per_ip = 0      # 0 = unlimited; over it: 429
max_messages_per_second = 0     # per connection; over it: close 4002; 0 = unlimited
max_session_lifetime = "0s"     # reached: close 4003; 0 = unlimited
backend_lost_close_code = 1014  # sent to the client when the backend vanishes
)toml";

// The smallest valid file: one listener, one pool, one route.
constexpr std::string_view kMinimal = R"toml(
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

std::shared_ptr<const Config> load(std::string_view text) {
  LoadResult result = loadConfigString(text, "test.toml");
  for (const ConfigError& error : result.errors)
    ADD_FAILURE() << formatError(error);
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.config != nullptr, result.errors.empty());
  return result.config;
}

void expectDefaultPolicy(const Policy& policy) {
  EXPECT_EQ(policy.max_frame_size, 1024U * 1024);
  EXPECT_EQ(policy.max_message_size, 4U * 1024 * 1024);
  EXPECT_EQ(policy.utf8, Utf8Mode::Strict);
  EXPECT_TRUE(policy.allow_binary);
  EXPECT_EQ(policy.ping_interval, seconds(30));
  EXPECT_EQ(policy.pong_timeout, seconds(10));
  EXPECT_EQ(policy.idle_timeout, milliseconds(0));
  EXPECT_EQ(policy.handshake_timeout, seconds(10));
  EXPECT_TRUE(policy.allowed_origins.empty());
  EXPECT_EQ(policy.max_connections_per_ip, 0U);
  EXPECT_EQ(policy.max_messages_per_second, 0U);
  EXPECT_EQ(policy.max_session_lifetime, milliseconds(0));
  EXPECT_EQ(policy.backend_lost_close_code, 1014);
  EXPECT_EQ(policy.backend_max_frame_size, 0U);
  EXPECT_TRUE(policy.allow_missing_origin);
}

TEST(ConfigLoad, ConfigMdExample) {
  const auto config = load(kConfigMdExample);
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->source, "test.toml");
  EXPECT_EQ(config->server.workers, 0U);
  EXPECT_EQ(config->server.max_connections, 100000U);
  EXPECT_EQ(config->server.drain_timeout, seconds(30));
  EXPECT_EQ(config->admin.listen, (Address{"127.0.0.1", 9901}));
  EXPECT_EQ(config->log.level, LogLevel::Info);
  EXPECT_EQ(config->log.format, LogFormat::Json);
  EXPECT_EQ(config->log.access_log, AccessLogTarget::Stderr);

  ASSERT_EQ(config->listeners.size(), 1U);
  const Listener& listener = config->listeners[0];
  EXPECT_EQ(listener.name, "public");
  EXPECT_EQ(listener.listen, (Address{"0.0.0.0", 8080}));
  ASSERT_TRUE(listener.tls.has_value());
  EXPECT_EQ(listener.tls->cert, "conf/certs/server.crt");
  EXPECT_EQ(listener.tls->key, "conf/certs/server.key");
  EXPECT_EQ(listener.tls->min_version, TlsVersion::Tls12);
  ASSERT_EQ(listener.tls->sni.size(), 1U);
  EXPECT_EQ(listener.tls->sni[0].server_name, "alt.example.com");
  EXPECT_EQ(listener.tls->sni[0].cert, "conf/certs/alt.crt");
  EXPECT_EQ(listener.tls->sni[0].key, "conf/certs/alt.key");

  ASSERT_EQ(config->routes.size(), 1U);
  const Route& route = config->routes[0];
  EXPECT_EQ(route.listener, "public");
  EXPECT_EQ(route.host, "*");
  EXPECT_EQ(route.path_prefix, "/");
  EXPECT_EQ(route.pool, "echo");
  EXPECT_EQ(route.policy, "default");
  EXPECT_EQ(route.name, "*/");
  EXPECT_EQ(route.listener_index, 0U);
  EXPECT_EQ(route.pool_index, 0U);
  EXPECT_EQ(route.policy_ptr, &config->defaultPolicy());

  ASSERT_EQ(config->pools.size(), 1U);
  const Pool& pool = config->pools[0];
  EXPECT_EQ(pool.name, "echo");
  EXPECT_EQ(pool.balance, Balance::RoundRobin);
  EXPECT_EQ(pool.hash_key, HashKey{});
  ASSERT_EQ(pool.backends.size(), 1U);
  EXPECT_EQ(pool.backends[0], (Backend{false, Address{"127.0.0.1", 9001}, "127.0.0.1:9001"}));
  EXPECT_EQ(pool.connect_timeout, seconds(5));
  EXPECT_EQ(pool.handshake_timeout, seconds(10));
  EXPECT_EQ(pool.ca_file, "");
  EXPECT_EQ(pool.client_cert, "");
  EXPECT_EQ(pool.client_key, "");
  ASSERT_TRUE(pool.health.has_value());
  EXPECT_EQ(pool.health->interval, seconds(5));
  EXPECT_EQ(pool.health->path, "/");
  EXPECT_EQ(pool.health->unhealthy_after, 3U);
  EXPECT_EQ(pool.health->healthy_after, 2U);

  ASSERT_EQ(config->policies.size(), 1U);
  expectDefaultPolicy(config->defaultPolicy());
}

TEST(ConfigLoad, DefaultsWhenKeysAreOmitted) {
  const auto config = load(kMinimal);
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->server.workers, 0U);
  EXPECT_EQ(config->server.max_connections, 100000U);
  EXPECT_EQ(config->server.drain_timeout, seconds(30));
  EXPECT_EQ(config->admin.listen, (Address{"127.0.0.1", 9901}));
  EXPECT_EQ(config->admin.request_timeout, seconds(10));
  EXPECT_EQ(config->admin.max_connections, 64U);
  EXPECT_EQ(config->log.level, LogLevel::Info);
  EXPECT_EQ(config->log.format, LogFormat::Auto);
  EXPECT_EQ(config->log.access_log, AccessLogTarget::Stderr);
  EXPECT_EQ(config->log.access_log_path, "");
  EXPECT_FALSE(config->listeners[0].tls.has_value());
  const Route& route = config->routes[0];
  EXPECT_EQ(route.host, "*");
  EXPECT_EQ(route.path_prefix, "/");
  EXPECT_EQ(route.policy, "default");
  const Pool& pool = config->pools[0];
  EXPECT_EQ(pool.balance, Balance::RoundRobin);
  EXPECT_EQ(pool.hash_key, HashKey{});
  EXPECT_EQ(pool.connect_timeout, seconds(5));
  EXPECT_EQ(pool.handshake_timeout, seconds(10));
  EXPECT_FALSE(pool.health.has_value());
  // No [policies.default] table: the built-in default policy exists all the same.
  ASSERT_EQ(config->policies.size(), 1U);
  ASSERT_EQ(config->policies.count("default"), 1U);
  expectDefaultPolicy(config->defaultPolicy());
  EXPECT_EQ(route.policy_ptr, &config->defaultPolicy());
}

TEST(ConfigLoad, HealthDefaultsInAnEmptyTable) {
  std::string text(kMinimal);
  text += "[pools.health]\n";
  const auto config = load(text);
  ASSERT_NE(config, nullptr);
  const HealthCheck& health = config->pools[0].health.value();
  EXPECT_EQ(health.interval, seconds(5));
  EXPECT_EQ(health.path, "/");
  EXPECT_EQ(health.unhealthy_after, 3U);
  EXPECT_EQ(health.healthy_after, 2U);
}

TEST(ConfigLoad, EveryValueSet) {
  const auto config = load(R"toml(
[server]
workers = 4
max_connections = 5000
drain_timeout = "1m30s"

[admin]
listen = "[::1]:0"
request_timeout = "1500ms"
max_connections = 8

[log]
level = "debug"
format = "text"
access_log = "/var/log/wsgate/access.log"

[[listeners]]
name = "public"
listen = "[::]:443"
  [listeners.tls]
  cert = "server.crt"
  key = "server.key"
  min_version = "1.3"
  [[listeners.tls.sni]]
  server_name = "Alt.Example.com"
  cert = "alt.crt"
  key = "alt.key"
  [[listeners.tls.sni]]
  server_name = "*.example.org"
  cert = "org.crt"
  key = "org.key"

[[listeners]]
name = "internal"
listen = "127.0.0.1:0"

[[routes]]
name = "chat"
listener = "public"
host = "Chat.Example.com"
path_prefix = "/ws/chat"
pool = "chat"
policy = "strict"

[[routes]]
listener = "internal"
host = "*.internal"
pool = "echo"

[[pools]]
name = "echo"
backends = ["127.0.0.1:9001", "127.0.0.1:9002"]

[[pools]]
name = "chat"
balance = "consistent_hash"
hash_key = "header:X-User"
backends = ["wss://chat-1.internal:9443", "ws://[::1]:9001", "wss://chat-2.internal"]
connect_timeout = "250ms"
handshake_timeout = "2s"
ca_file = "ca.pem"
client_cert = "client.crt"
client_key = "client.key"
  [pools.health]
  interval = "10s"
  path = "/health"
  unhealthy_after = 5
  healthy_after = 1

[policies.strict]
max_frame_size = 65536
max_message_size = "256KiB"
utf8 = "off"
allow_binary = false
ping_interval = "0s"
pong_timeout = "0s"
idle_timeout = "5m"
handshake_timeout = "3s"
allowed_origins = ["https://App.example.com", "*.example.org"]
max_connections_per_ip = 10
max_messages_per_second = 100
max_session_lifetime = "24h"
backend_lost_close_code = 4000
backend_max_frame_size = "16MiB"
allow_missing_origin = false
)toml");
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->server.workers, 4U);
  EXPECT_EQ(config->server.max_connections, 5000U);
  EXPECT_EQ(config->server.drain_timeout, seconds(90));
  EXPECT_EQ(config->admin.listen, (Address{"::1", 0}));
  EXPECT_EQ(config->admin.request_timeout, milliseconds(1500));
  EXPECT_EQ(config->admin.max_connections, 8U);
  EXPECT_EQ(config->log.level, LogLevel::Debug);
  EXPECT_EQ(config->log.format, LogFormat::Text);
  EXPECT_EQ(config->log.access_log, AccessLogTarget::File);
  EXPECT_EQ(config->log.access_log_path, "/var/log/wsgate/access.log");

  ASSERT_EQ(config->listeners.size(), 2U);
  EXPECT_EQ(config->listeners[0].listen, (Address{"::", 443}));
  EXPECT_EQ(config->listeners[0].tls->min_version, TlsVersion::Tls13);
  ASSERT_EQ(config->listeners[0].tls->sni.size(), 2U);
  EXPECT_EQ(config->listeners[0].tls->sni[0].server_name, "alt.example.com");
  EXPECT_EQ(config->listeners[0].tls->sni[1].server_name, "*.example.org");
  EXPECT_EQ(config->listeners[1].listen, (Address{"127.0.0.1", 0}));

  ASSERT_EQ(config->routes.size(), 2U);
  const Route& chat = config->routes[0];
  EXPECT_EQ(chat.name, "chat");
  EXPECT_EQ(chat.host, "chat.example.com");
  EXPECT_EQ(chat.path_prefix, "/ws/chat");
  EXPECT_EQ(chat.listener_index, 0U);
  EXPECT_EQ(chat.pool_index, 1U);
  EXPECT_EQ(chat.policy_ptr, &config->policies.at("strict"));
  const Route& echo = config->routes[1];
  EXPECT_EQ(echo.name, "*.internal/");
  EXPECT_EQ(echo.listener_index, 1U);
  EXPECT_EQ(echo.pool_index, 0U);
  EXPECT_EQ(echo.policy_ptr, &config->defaultPolicy());

  const Pool& pool = config->pools[1];
  EXPECT_EQ(pool.balance, Balance::ConsistentHash);
  EXPECT_EQ(pool.hash_key, (HashKey{HashKeySource::Header, "x-user"}));
  ASSERT_EQ(pool.backends.size(), 3U);
  EXPECT_TRUE(pool.backends[0].tls);
  EXPECT_EQ(pool.backends[0].address, (Address{"chat-1.internal", 9443}));
  EXPECT_FALSE(pool.backends[1].tls);
  EXPECT_EQ(pool.backends[1].address, (Address{"::1", 9001}));
  EXPECT_EQ(pool.backends[2].address, (Address{"chat-2.internal", 443}));
  EXPECT_EQ(pool.connect_timeout, milliseconds(250));
  EXPECT_EQ(pool.handshake_timeout, seconds(2));
  EXPECT_EQ(pool.ca_file, "ca.pem");
  EXPECT_EQ(pool.client_cert, "client.crt");
  EXPECT_EQ(pool.client_key, "client.key");
  EXPECT_EQ(pool.health->interval, seconds(10));
  EXPECT_EQ(pool.health->path, "/health");
  EXPECT_EQ(pool.health->unhealthy_after, 5U);
  EXPECT_EQ(pool.health->healthy_after, 1U);

  ASSERT_EQ(config->policies.size(), 2U); // "strict" and the built-in "default"
  const Policy& strict = config->policies.at("strict");
  EXPECT_EQ(strict.max_frame_size, 65536U);
  EXPECT_EQ(strict.max_message_size, 256U * 1024);
  EXPECT_EQ(strict.utf8, Utf8Mode::Off);
  EXPECT_FALSE(strict.allow_binary);
  EXPECT_EQ(strict.ping_interval, milliseconds(0));
  EXPECT_EQ(strict.pong_timeout, milliseconds(0));
  EXPECT_EQ(strict.idle_timeout, std::chrono::minutes(5));
  EXPECT_EQ(strict.handshake_timeout, seconds(3));
  EXPECT_EQ(strict.allowed_origins,
            (std::vector<std::string>{"https://app.example.com", "*.example.org"}));
  EXPECT_EQ(strict.max_connections_per_ip, 10U);
  EXPECT_EQ(strict.max_messages_per_second, 100U);
  EXPECT_EQ(strict.max_session_lifetime, hours(24));
  EXPECT_EQ(strict.backend_lost_close_code, 4000);
  EXPECT_EQ(strict.backend_max_frame_size, 16U * 1024 * 1024);
  EXPECT_FALSE(strict.allow_missing_origin);
  expectDefaultPolicy(config->defaultPolicy());
}

// CONFIG.md "Additions": backend_max_frame_size is a size where 0 means max_message_size;
// allow_missing_origin a boolean.
TEST(ConfigLoad, BackendFrameSizeAndMissingOrigin) {
  std::string text(kMinimal);
  text += R"toml(
[policies.default]
backend_max_frame_size = 0
allow_missing_origin = true
[policies.bytes]
backend_max_frame_size = 65536
[policies.units]
backend_max_frame_size = "64KiB"
allow_missing_origin = false
[policies.zero_string]
backend_max_frame_size = "0KiB"
)toml";
  const auto config = load(text);
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->defaultPolicy().backend_max_frame_size, 0U);
  EXPECT_TRUE(config->defaultPolicy().allow_missing_origin);
  EXPECT_EQ(config->policies.at("bytes").backend_max_frame_size, 65536U);
  EXPECT_TRUE(config->policies.at("bytes").allow_missing_origin);
  EXPECT_EQ(config->policies.at("units").backend_max_frame_size, 65536U);
  EXPECT_FALSE(config->policies.at("units").allow_missing_origin);
  EXPECT_EQ(config->policies.at("zero_string").backend_max_frame_size, 0U);
}

TEST(ConfigLoad, OtherEnumValues) {
  std::string text(kMinimal);
  text += R"toml(
[log]
level = "warn"
access_log = "off"
)toml";
  auto config = load(text);
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->log.level, LogLevel::Warn);
  EXPECT_EQ(config->log.access_log, AccessLogTarget::Off);

  for (const auto& [name, balance] :
       {std::pair{"least_conn", Balance::LeastConn}, std::pair{"p2c", Balance::PowerOfTwoChoices},
        std::pair{"round_robin", Balance::RoundRobin}}) {
    config = load(std::string(kMinimal) + "balance = \"" + name + "\"\n");
    ASSERT_NE(config, nullptr);
    EXPECT_EQ(config->pools[0].balance, balance);
    EXPECT_EQ(toString(balance), name);
  }
}

TEST(ConfigLoad, InlineTablesAndIntegerZeroDuration) {
  const auto config = load(R"toml(
listeners = [{ name = "a", listen = "127.0.0.1:1" }]
routes = [{ listener = "a", pool = "p", policy = "quiet" }]
pools = [{ name = "p", backends = ["127.0.0.1:2"] }]
policies = { quiet = { ping_interval = 0, idle_timeout = 0 } }
)toml");
  ASSERT_NE(config, nullptr);
  const Policy& quiet = config->policies.at("quiet");
  EXPECT_EQ(quiet.ping_interval, milliseconds(0));
  EXPECT_EQ(config->routes[0].policy_ptr, &quiet);
}

TEST(ConfigLoad, SameHostAndPrefixOnDifferentListeners) {
  const auto config = load(R"toml(
[[listeners]]
name = "a"
listen = "127.0.0.1:1"
[[listeners]]
name = "b"
listen = "127.0.0.1:2"
[[routes]]
listener = "a"
pool = "p"
[[routes]]
listener = "b"
pool = "p"
[[routes]]
listener = "b"
path_prefix = "/chat"
pool = "p"
[[pools]]
name = "p"
backends = ["127.0.0.1:3"]
)toml");
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->routes.size(), 3U);
  EXPECT_EQ(config->routes[1].listener_index, 1U);
}

TEST(ConfigLoad, NoRoutesIsValid) {
  const auto config = load(R"toml(
[[listeners]]
name = "a"
listen = "127.0.0.1:1"
)toml");
  ASSERT_NE(config, nullptr);
  EXPECT_TRUE(config->routes.empty());
  EXPECT_TRUE(config->pools.empty());
}

TEST(ConfigLoad, MovingKeepsPolicyPointersValid) {
  LoadResult result = loadConfigString(kConfigMdExample, "test.toml");
  ASSERT_TRUE(result.ok());
  // The snapshot is const; a moved Config (as a reload might build one) keeps its pointers.
  Config moved = std::move(const_cast<Config&>(*result.config));
  EXPECT_EQ(moved.routes[0].policy_ptr, &moved.defaultPolicy());
}

TEST(ConfigLoad, ShippedExampleFile) {
  // WSGATE_TEST_DATA_DIR is <repo>/tests/data, which need not exist.
  const std::string path =
      (std::filesystem::path(WSGATE_TEST_DATA_DIR).parent_path().parent_path() / "conf" /
       "wsgate.toml")
          .string();
  LoadResult result = loadConfigFile(path);
  for (const ConfigError& error : result.errors)
    ADD_FAILURE() << formatError(error);
  ASSERT_TRUE(result.ok());
  const Config& config = *result.config;
  EXPECT_EQ(config.source, path);
  ASSERT_EQ(config.listeners.size(), 1U);
  EXPECT_EQ(config.listeners[0].name, "public");
  EXPECT_EQ(config.listeners[0].listen, (Address{"127.0.0.1", 8080}));
  EXPECT_FALSE(config.listeners[0].tls.has_value());
  EXPECT_EQ(config.admin.listen, (Address{"127.0.0.1", 9901}));
  ASSERT_EQ(config.routes.size(), 1U);
  EXPECT_EQ(config.routes[0].path_prefix, "/");
  EXPECT_EQ(config.pools[config.routes[0].pool_index].name, "echo");
  EXPECT_EQ(config.pools[0].backends[0].address, (Address{"127.0.0.1", 9001}));
  expectDefaultPolicy(config.defaultPolicy());
}

TEST(ConfigLoad, LoadsFromStringAndFileAlike) {
  const std::string path = ::testing::TempDir() + "config_load_test.toml";
  {
    FILE* file = std::fopen(path.c_str(), "wb");
    ASSERT_NE(file, nullptr);
    std::fwrite(kMinimal.data(), 1, kMinimal.size(), file);
    std::fclose(file);
  }
  LoadResult result = loadConfigFile(path);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.config->source, path);
  std::remove(path.c_str());
}

TEST(ConfigLoad, FormatsErrors) {
  EXPECT_EQ(formatError(ConfigError{"a.toml", 3, 7, "routes[1].pool", "no pool named \"chat\""}),
            "a.toml:3:7: routes[1].pool: no pool named \"chat\"");
  EXPECT_EQ(formatError(ConfigError{"a.toml", 1, 6, "", "syntax"}), "a.toml:1:6: syntax");
  EXPECT_EQ(formatError(ConfigError{"a.toml", 0, 0, "", "cannot open: gone"}),
            "a.toml: cannot open: gone");
}

} // namespace
} // namespace wsgate::config
