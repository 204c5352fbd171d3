// Every kind of configuration error, with its exact file:line:column and key path. The
// TOML texts start with a newline, so their first key is on line 2.
#include "common/config/config.h"

#include <filesystem>
#include <gtest/gtest.h>

namespace wsgate::config {
namespace {

using Lines = std::vector<std::string>;

Lines errorsOf(std::string_view text) {
  LoadResult result = loadConfigString(text, "bad.toml");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.config, nullptr);
  Lines lines;
  for (const ConfigError& error : result.errors)
    lines.push_back(formatError(error));
  return lines;
}

// A valid tail: listener "public", pool "echo" and a route between them.
constexpr std::string_view kValidTail = R"toml(
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

TEST(ConfigErrors, UnknownKeysAnywhere) {
  EXPECT_EQ(errorsOf(R"toml(
[server]
worker = 2
[[listeners]]
name = "public"
listen = "127.0.0.1:8080"
lisen = "x"
  [listeners.tls]
  cert = "c"
  key = "k"
  ciphers = "x"
[[routes]]
listener = "public"
pool = "echo"
weight = 1
[[pools]]
name = "echo"
backends = ["127.0.0.1:9001"]
  [pools.health]
  retries = 1
[policies.default]
max_frame = "1MiB"
[metrics]
enabled = true
)toml"),
            (Lines{
                "bad.toml:3:1: server.worker: unknown key \"worker\" (did you mean \"workers\"?)",
                "bad.toml:7:1: listeners[0].lisen: unknown key \"lisen\" (did you mean "
                "\"listen\"?)",
                "bad.toml:11:3: listeners[0].tls.ciphers: unknown key \"ciphers\"",
                "bad.toml:15:1: routes[0].weight: unknown key \"weight\"",
                "bad.toml:20:3: pools[0].health.retries: unknown key \"retries\"",
                "bad.toml:22:1: policies.default.max_frame: unknown key \"max_frame\"",
                "bad.toml:23:2: metrics: unknown key \"metrics\"",
            }));
}

TEST(ConfigErrors, UnknownKeyNeedingQuotes) {
  std::string text(kValidTail);
  text += "\"odd key\" = 1\n";
  EXPECT_EQ(errorsOf(text),
            (Lines{"bad.toml:11:1: pools[0].\"odd key\": unknown key \"odd key\""}));
}

TEST(ConfigErrors, WrongTypes) {
  EXPECT_EQ(errorsOf(R"toml(
[server]
workers = "4"
drain_timeout = 30
[log]
level = 3
[[listeners]]
name = "public"
listen = 8080
[[routes]]
listener = "public"
pool = ["echo"]
[[pools]]
name = "echo"
backends = "127.0.0.1:9001"
[policies.default]
allow_binary = "yes"
max_frame_size = 1.5
allowed_origins = "*"
idle_timeout = true
)toml"),
            (Lines{
                "bad.toml:3:11: server.workers: expected an integer, got a string",
                "bad.toml:4:17: server.drain_timeout: a duration needs a unit: write \"30s\" or "
                "\"30ms\"",
                "bad.toml:6:9: log.level: expected a string, got an integer",
                "bad.toml:9:10: listeners[0].listen: expected a string, got an integer",
                "bad.toml:12:8: routes[0].pool: expected a string, got an array",
                "bad.toml:15:12: pools[0].backends: expected an array, got a string",
                "bad.toml:17:16: policies.default.allow_binary: expected true or false, got a "
                "string",
                "bad.toml:18:18: policies.default.max_frame_size: expected a size (bytes, or a "
                "string like \"64KiB\"), got a floating-point number",
                "bad.toml:19:19: policies.default.allowed_origins: expected an array, got a string",
                "bad.toml:20:16: policies.default.idle_timeout: expected a duration string like "
                "\"30s\", got a boolean",
            }));
}

TEST(ConfigErrors, SectionsOfTheWrongType) {
  EXPECT_EQ(errorsOf(R"toml(
server = 5
admin = "127.0.0.1:9901"
listeners = { name = "public" }
routes = [1]
pools = [[]]
policies = { default = 3 }
)toml"),
            (Lines{
                "bad.toml:2:10: server: expected a table, got an integer",
                "bad.toml:3:9: admin: expected a table, got a string",
                "bad.toml:4:13: listeners: expected an array, got a table",
                "bad.toml:5:11: routes[0]: expected a table, got an integer",
                "bad.toml:6:10: pools[0]: expected a table, got an array",
                "bad.toml:7:24: policies.default: expected a table [policies.default], got an "
                "integer",
            }));
}

TEST(ConfigErrors, BadValues) {
  EXPECT_EQ(errorsOf(R"toml(
[server]
workers = 5000
max_connections = 0
[admin]
listen = "localhost"
[log]
level = "trace"
access_log = ""
[[listeners]]
name = "public"
listen = "0.0.0.0:70000"
[[routes]]
listener = "public"
host = "a.*.com"
path_prefix = "chat"
pool = "echo"
[[pools]]
name = "echo"
balance = "ring"
hash_key = "header:"
backends = ["http://a:1", 5, "127.0.0.1:0"]
connect_timeout = "0s"
handshake_timeout = "1.5s"
  [pools.health]
  interval = "0"
  path = "health"
  unhealthy_after = 0
[policies.default]
utf8 = "loose"
max_message_size = "4MB!"
allowed_origins = ["https://a.com/x", 7]
handshake_timeout = "-1s"
)toml"),
            (Lines{
                "bad.toml:3:11: server.workers: 5000 is out of range; expected 0 to 1024",
                "bad.toml:4:19: server.max_connections: 0 is out of range; expected 1 to "
                "9223372036854775807",
                "bad.toml:6:10: admin.listen: invalid address \"localhost\": missing port; "
                "expected host:port like \"127.0.0.1:8080\"",
                "bad.toml:8:9: log.level: invalid value \"trace\"; expected one of \"error\", "
                "\"warn\", \"info\", \"debug\"",
                "bad.toml:9:14: log.access_log: must not be empty",
                "bad.toml:12:10: listeners[0].listen: invalid address \"0.0.0.0:70000\": port "
                "\"70000\" is not a number from 0 to 65535",
                "bad.toml:15:8: routes[0].host: invalid host \"a.*.com\": a wildcard is only "
                "allowed as \"*\" or a leading \"*.\"",
                "bad.toml:16:15: routes[0].path_prefix: must start with '/'",
                "bad.toml:20:11: pools[0].balance: invalid value \"ring\"; expected one of "
                "\"round_robin\", \"least_conn\", \"consistent_hash\", \"p2c\", \"random\"",
                "bad.toml:21:12: pools[0].hash_key: hash_key \"header:\" needs a name after ':'",
                "bad.toml:22:13: pools[0].backends[0]: unsupported scheme \"http\" in backend "
                "\"http://a:1\"; use \"ws://\", \"wss://\" or plain host:port",
                "bad.toml:22:27: pools[0].backends[1]: expected a backend string like "
                "\"127.0.0.1:9001\", \"wss://host:443\" or a table { address = \"...\", "
                "weight = N, max_connections = N }, got an integer",
                "bad.toml:22:30: pools[0].backends[2]: invalid backend \"127.0.0.1:0\": port 0 is "
                "not allowed here",
                "bad.toml:23:19: pools[0].connect_timeout: must be greater than zero",
                "bad.toml:24:21: pools[0].handshake_timeout: invalid duration \"1.5s\": fractions "
                "are not supported; use a smaller unit like \"1500ms\"",
                "bad.toml:26:14: pools[0].health.interval: must be greater than zero",
                "bad.toml:27:10: pools[0].health.path: must start with '/'",
                "bad.toml:28:21: pools[0].health.unhealthy_after: 0 is out of range; expected 1 "
                "to 1000",
                "bad.toml:30:8: policies.default.utf8: invalid value \"loose\"; expected one of "
                "\"strict\", \"off\"",
                "bad.toml:31:20: policies.default.max_message_size: unknown unit \"MB!\" in size "
                "\"4MB!\"; use B, KiB, MiB, GiB, TiB (powers of 1024) or KB, MB, GB, TB (powers "
                "of 1000)",
                "bad.toml:32:20: policies.default.allowed_origins[0]: invalid origin "
                "\"https://a.com/x\": an origin has no path; expected an origin like "
                "\"https://app.example.com\" or a pattern like \"*.example.com\"",
                "bad.toml:32:39: policies.default.allowed_origins[1]: expected a string, got an "
                "integer",
                "bad.toml:33:21: policies.default.handshake_timeout: a duration cannot be "
                "negative: \"-1s\"",
            }));
}

TEST(ConfigErrors, AdminLimits) {
  EXPECT_EQ(errorsOf(std::string(R"toml(
[admin]
request_timeout = "0s"
max_connections = 0
)toml") + std::string(kValidTail)),
            (Lines{
                "bad.toml:3:19: admin.request_timeout: must be greater than zero",
                "bad.toml:4:19: admin.max_connections: 0 is out of range; expected 1 to 4096",
            }));
  EXPECT_EQ(errorsOf(std::string(R"toml(
[admin]
request_timeout = 10
max_connections = 5000
max_conections = 1
)toml") + std::string(kValidTail)),
            (Lines{
                "bad.toml:3:19: admin.request_timeout: a duration needs a unit: write \"10s\" or "
                "\"10ms\"",
                "bad.toml:4:19: admin.max_connections: 5000 is out of range; expected 1 to 4096",
                "bad.toml:5:1: admin.max_conections: unknown key \"max_conections\" (did you "
                "mean \"max_connections\"?)",
            }));
}

TEST(ConfigErrors, TlsVersions) {
  EXPECT_EQ(errorsOf(R"toml(
[[listeners]]
name = "a"
listen = "127.0.0.1:1"
  [listeners.tls]
  cert = "c"
  key = "k"
  min_version = "1.0"
[[listeners]]
name = "b"
listen = "127.0.0.1:2"
  [listeners.tls]
  cert = "c"
  key = "k"
  min_version = "1.1"
[[listeners]]
name = "c"
listen = "127.0.0.1:3"
  [listeners.tls]
  cert = "c"
  key = "k"
  min_version = 1.3
[[listeners]]
name = "d"
listen = "127.0.0.1:4"
  [listeners.tls]
  cert = ""
  key = "k"
  min_version = "TLSv1.3"
)toml"),
            (Lines{
                "bad.toml:8:17: listeners[0].tls.min_version: TLS 1.0 is not supported; use "
                "\"1.2\" or \"1.3\"",
                "bad.toml:15:17: listeners[1].tls.min_version: TLS 1.1 is not supported; use "
                "\"1.2\" or \"1.3\"",
                "bad.toml:22:17: listeners[2].tls.min_version: expected a string: write \"1.2\" or "
                "\"1.3\" in quotes",
                "bad.toml:27:10: listeners[3].tls.cert: must not be empty",
                "bad.toml:29:17: listeners[3].tls.min_version: invalid value \"TLSv1.3\"; expected "
                "\"1.2\" or \"1.3\"",
            }));
}

TEST(ConfigErrors, MissingRequiredKeys) {
  EXPECT_EQ(errorsOf(R"toml(
[[listeners]]
  [listeners.tls]
  [[listeners.tls.sni]]
[[routes]]
[[pools]]
)toml"),
            (Lines{
                "bad.toml:2:1: listeners[0].name: missing required key \"name\"",
                "bad.toml:2:1: listeners[0].listen: missing required key \"listen\"",
                "bad.toml:3:3: listeners[0].tls.cert: missing required key \"cert\"",
                "bad.toml:3:3: listeners[0].tls.key: missing required key \"key\"",
                "bad.toml:4:3: listeners[0].tls.sni[0].server_name: missing required key "
                "\"server_name\"",
                "bad.toml:4:3: listeners[0].tls.sni[0].cert: missing required key \"cert\"",
                "bad.toml:4:3: listeners[0].tls.sni[0].key: missing required key \"key\"",
                "bad.toml:5:1: routes[0].listener: missing required key \"listener\"",
                "bad.toml:5:1: routes[0].pool: missing required key \"pool\"",
                "bad.toml:6:1: pools[0].name: missing required key \"name\"",
                "bad.toml:6:1: pools[0].backends: missing required key \"backends\"",
            }));
}

TEST(ConfigErrors, NoListeners) {
  EXPECT_EQ(errorsOf(""),
            (Lines{"bad.toml:1:1: listeners: at least one [[listeners]] table is required"}));
  EXPECT_EQ(errorsOf("\n[server]\nworkers = 1\n"),
            (Lines{"bad.toml:1:1: listeners: at least one [[listeners]] table is required"}));
  EXPECT_EQ(errorsOf("\nlisteners = []\n"),
            (Lines{"bad.toml:2:13: listeners: at least one [[listeners]] table is required"}));
}

TEST(ConfigErrors, PoolWithoutBackends) {
  EXPECT_EQ(errorsOf(R"toml(
[[listeners]]
name = "public"
listen = "127.0.0.1:8080"
[[pools]]
name = "echo"
backends = []
)toml"),
            (Lines{"bad.toml:7:12: pools[0].backends: a pool needs at least one backend"}));
}

TEST(ConfigErrors, DuplicateNames) {
  EXPECT_EQ(errorsOf(R"toml(
[[listeners]]
name = "public"
listen = "127.0.0.1:8080"
[[listeners]]
name = "public"
listen = "127.0.0.1:8081"
  [listeners.tls]
  cert = "c"
  key = "k"
  [[listeners.tls.sni]]
  server_name = "a.example.com"
  cert = "a"
  key = "a"
  [[listeners.tls.sni]]
  server_name = "A.example.com"
  cert = "b"
  key = "b"
[[routes]]
name = "r"
listener = "public"
pool = "echo"
[[routes]]
name = "r"
listener = "public"
path_prefix = "/x"
pool = "echo"
[[pools]]
name = "echo"
backends = ["127.0.0.1:9001", "ws://127.0.0.1:9001", "wss://127.0.0.1:9001"]
[[pools]]
name = "echo"
backends = ["127.0.0.1:9002"]
)toml"),
            (Lines{
                "bad.toml:6:8: listeners[1].name: duplicate listener name \"public\" (first "
                "defined at line 3)",
                "bad.toml:16:17: listeners[1].tls.sni[1].server_name: duplicate server_name "
                "\"a.example.com\" (also at line 12)",
                "bad.toml:24:8: routes[1].name: duplicate route name \"r\" (first used by "
                "routes[0])",
                "bad.toml:30:31: pools[0].backends[1]: duplicate backend \"127.0.0.1:9001\"",
                "bad.toml:32:8: pools[1].name: duplicate pool name \"echo\" (first defined at "
                "line 29)",
            }));
}

TEST(ConfigErrors, MissingReferences) {
  EXPECT_EQ(errorsOf(R"toml(
[[listeners]]
name = "public"
listen = "127.0.0.1:8080"
[[routes]]
listener = "public"
pool = "echo"
[[routes]]
listener = "private"
path_prefix = "/chat"
pool = "chat"
policy = "strict"
[[pools]]
name = "echo"
backends = ["127.0.0.1:9001"]
)toml"),
            (Lines{
                "bad.toml:9:12: routes[1].listener: no listener named \"private\"",
                "bad.toml:11:8: routes[1].pool: no pool named \"chat\"",
                "bad.toml:12:10: routes[1].policy: no policy named \"strict\" (define it as "
                "[policies.strict])",
            }));
}

TEST(ConfigErrors, NoCascadeFromAnUnnamedPool) {
  // The pool without a name is reported once; the route naming "echo" is not also flagged.
  EXPECT_EQ(errorsOf(R"toml(
[[listeners]]
name = "public"
listen = "127.0.0.1:8080"
[[routes]]
listener = "public"
pool = "echo"
[[pools]]
name = 5
backends = ["127.0.0.1:9001"]
)toml"),
            (Lines{"bad.toml:9:8: pools[0].name: expected a string, got an integer"}));
}

TEST(ConfigErrors, DuplicateRoutes) {
  EXPECT_EQ(errorsOf(R"toml(
[[listeners]]
name = "public"
listen = "127.0.0.1:8080"
[[routes]]
listener = "public"
pool = "echo"
[[routes]]
listener = "public"
pool = "echo"
[[routes]]
listener = "public"
host = "chat.example.com"
path_prefix = "/ws"
pool = "echo"
[[routes]]
listener = "public"
host = "CHAT.example.com"
path_prefix = "/ws"
pool = "echo"
[[routes]]
listener = "public"
host = "*"
pool = "echo"
[[pools]]
name = "echo"
backends = ["127.0.0.1:9001"]
)toml"),
            (Lines{
                "bad.toml:8:1: routes[1]: duplicate route: listener \"public\", host \"*\", "
                "path_prefix \"/\" is already used by routes[0]",
                "bad.toml:19:15: routes[3]: duplicate route: listener \"public\", host "
                "\"chat.example.com\", path_prefix \"/ws\" is already used by routes[2]",
                "bad.toml:23:8: routes[4]: duplicate route: listener \"public\", host \"*\", "
                "path_prefix \"/\" is already used by routes[0]",
            }));
}

TEST(ConfigErrors, PingWithoutPongTimeout) {
  std::string text(kValidTail);
  text += R"toml([policies.default]
ping_interval = "10s"
pong_timeout = "0s"
[policies.quiet]
ping_interval = "0s"
pong_timeout = "0s"
[policies.other]
pong_timeout = 0
)toml";
  EXPECT_EQ(errorsOf(text),
            (Lines{
                "bad.toml:13:16: policies.default.pong_timeout: must be greater than zero while "
                "ping_interval is set (ping_interval = \"0s\" disables pings)",
                "bad.toml:18:16: policies.other.pong_timeout: must be greater than zero while "
                "ping_interval is set (ping_interval = \"0s\" disables pings)",
            }));
}

TEST(ConfigErrors, CloseCodesThatCannotBeSent) {
  for (const int code : {999, 1004, 1005, 1006, 1015, 2999, 5000, -1}) {
    std::string text(kValidTail);
    text += "[policies.default]\nbackend_lost_close_code = " + std::to_string(code) + "\n";
    EXPECT_EQ(
        errorsOf(text),
        (Lines{"bad.toml:12:27: policies.default.backend_lost_close_code: " + std::to_string(code) +
               " is not a close code that may be sent; use 1000-1003, 1007-1014 or "
               "3000-4999"}));
  }
  for (const int code : {1000, 1001, 1011, 1012, 1013, 1014, 3000, 4999}) {
    std::string text(kValidTail);
    text += "[policies.default]\nbackend_lost_close_code = " + std::to_string(code) + "\n";
    LoadResult result = loadConfigString(text, "good.toml");
    ASSERT_TRUE(result.ok()) << code;
    EXPECT_EQ(result.config->defaultPolicy().backend_lost_close_code, code);
  }
}

TEST(ConfigErrors, BackendFrameSizeAndMissingOrigin) {
  std::string text(kValidTail);
  text += R"toml([policies.default]
backend_max_frame_size = -1
allow_missing_origin = "no"
[policies.b]
backend_max_frame_size = "-5MiB"
[policies.c]
backend_max_frame_size = "1.5MiB"
[policies.d]
backend_max_frame_size = true
allow_missing_origin = 0
[policies.e]
backend_max_frame_sizes = "1MiB"
)toml";
  EXPECT_EQ(errorsOf(text),
            (Lines{
                "bad.toml:12:26: policies.default.backend_max_frame_size: a size cannot be "
                "negative",
                "bad.toml:13:24: policies.default.allow_missing_origin: expected true or false, "
                "got a string",
                "bad.toml:15:26: policies.b.backend_max_frame_size: a size cannot be negative: "
                "\"-5MiB\"",
                "bad.toml:17:26: policies.c.backend_max_frame_size: invalid size \"1.5MiB\": "
                "fractions are not supported; use a smaller unit like \"1536KiB\"",
                "bad.toml:19:26: policies.d.backend_max_frame_size: expected a size (bytes, or a "
                "string like \"64KiB\"), got a boolean",
                "bad.toml:20:24: policies.d.allow_missing_origin: expected true or false, got an "
                "integer",
                "bad.toml:22:1: policies.e.backend_max_frame_sizes: unknown key "
                "\"backend_max_frame_sizes\" (did you mean \"backend_max_frame_size\"?)",
            }));
}

TEST(ConfigErrors, ClientCertificateNeedsKey) {
  std::string text(kValidTail);
  text += "client_cert = \"client.crt\"\n";
  EXPECT_EQ(errorsOf(text),
            (Lines{"bad.toml:11:15: pools[0].client_cert: client_cert needs client_key"}));
}

TEST(ConfigErrors, SniServerNames) {
  EXPECT_EQ(errorsOf(R"toml(
[[listeners]]
name = "public"
listen = "127.0.0.1:8080"
  [listeners.tls]
  cert = "c"
  key = "k"
  [[listeners.tls.sni]]
  server_name = "*"
  cert = "a"
  key = "a"
  [[listeners.tls.sni]]
  server_name = "bad name"
  cert = "a"
  key = "a"
)toml"),
            (Lines{
                "bad.toml:9:17: listeners[0].tls.sni[0].server_name: must be a server name or "
                "\"*.domain\", not \"*\"",
                "bad.toml:13:17: listeners[0].tls.sni[1].server_name: invalid host \"bad name\": "
                "\"bad name\" is not a valid host name",
            }));
}

TEST(ConfigErrors, NumbersOutOfRange) {
  std::string text(kValidTail);
  text += R"toml([policies.default]
max_connections_per_ip = -1
max_messages_per_second = -5
max_frame_size = 0
max_message_size = "0KiB"
ping_interval = "8761h"
)toml";
  EXPECT_EQ(errorsOf(text),
            (Lines{
                "bad.toml:12:26: policies.default.max_connections_per_ip: -1 is out of range; "
                "expected 0 to 9223372036854775807",
                "bad.toml:13:27: policies.default.max_messages_per_second: -5 is out of range; "
                "expected 0 to 9223372036854775807",
                "bad.toml:14:18: policies.default.max_frame_size: must be at least 1 byte",
                "bad.toml:15:20: policies.default.max_message_size: must be at least 1 byte",
                "bad.toml:16:17: policies.default.ping_interval: duration \"8761h\" is too large "
                "(max 8760h)",
            }));
}

TEST(ConfigErrors, SyntaxErrorIsTheOnlyError) {
  LoadResult result = loadConfigString("\n[server\nworkers = 1\nbogus = \n", "bad.toml");
  EXPECT_FALSE(result.ok());
  ASSERT_EQ(result.errors.size(), 1U);
  const ConfigError& error = result.errors[0];
  EXPECT_EQ(error.file, "bad.toml");
  EXPECT_EQ(error.line, 2);
  EXPECT_GT(error.column, 1);
  EXPECT_EQ(error.key_path, "");
  EXPECT_FALSE(error.message.empty());
  EXPECT_EQ(formatError(error).rfind("bad.toml:2:", 0), 0U) << formatError(error);
}

TEST(ConfigErrors, DuplicateTomlKeyIsASyntaxError) {
  std::string text(kValidTail);
  text += "name = \"again\"\n";
  LoadResult result = loadConfigString(text, "bad.toml");
  ASSERT_EQ(result.errors.size(), 1U);
  EXPECT_EQ(result.errors[0].line, 11);
}

TEST(ConfigErrors, InvalidUtf8IsASyntaxError) {
  LoadResult result = loadConfigString("a = \"\xff\"\n", "bad.toml");
  ASSERT_EQ(result.errors.size(), 1U);
  EXPECT_EQ(result.errors[0].line, 1);
}

TEST(ConfigErrors, UnreadableFiles) {
  LoadResult missing = loadConfigFile("/nonexistent/wsgate.toml");
  ASSERT_EQ(missing.errors.size(), 1U);
  EXPECT_EQ(formatError(missing.errors[0]),
            "/nonexistent/wsgate.toml: cannot open: No such file or directory");
  const std::string dir = std::filesystem::temp_directory_path().string();
  LoadResult directory = loadConfigFile(dir);
  ASSERT_EQ(directory.errors.size(), 1U);
  EXPECT_EQ(formatError(directory.errors[0]), dir + ": cannot read: is a directory");
}

} // namespace
} // namespace wsgate::config
