#pragma once

// The typed configuration of wsgate (schema: CONFIG.md) and the functions that load it.
//
// A loaded Config is an immutable snapshot shared as std::shared_ptr<const Config>:
// workers and sessions keep the snapshot they started with; a reload builds a new one.
// Every default below is the one CONFIG.md documents.

#include "common/config/values.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::config {

using Duration = std::chrono::milliseconds;

inline constexpr uint64_t kKiB = 1024;
inline constexpr uint64_t kMiB = 1024 * kKiB;

// The policy every route without a `policy` key uses; always present in Config::policies.
inline constexpr std::string_view kDefaultPolicyName = "default";

enum class LogLevel { Error, Warn, Info, Debug };
// Auto: text on a terminal, JSON otherwise (decided per stream when the logger starts).
enum class LogFormat { Json, Text, Auto };
// The socket engine of the workers (server.io).
enum class IoEngine { Auto, Epoll, IoUring };
enum class AccessLogTarget { Stderr, Stdout, Off, File };
enum class TlsVersion { Tls12, Tls13 };
enum class Balance { RoundRobin, LeastConn, ConsistentHash, PowerOfTwoChoices, Random };
enum class Utf8Mode { Strict, Off };
// Inspect: permessage-deflate passes end to end and wsgate inflates a copy to check it.
// Off: the client's offer is removed, so no session is compressed.
enum class CompressionMode { Inspect, Off };
enum class AuthType { Jwt, Bearer };
// What happens when a session's token expires while it is open.
enum class TokenExpiry { Close, Ignore };

// The names used in the file ("round_robin", "p2c", "1.3", ...).
std::string_view toString(LogLevel level);
std::string_view toString(LogFormat format);
std::string_view toString(IoEngine engine);
std::string_view toString(AccessLogTarget target);
std::string_view toString(TlsVersion version);
std::string_view toString(Balance balance);
std::string_view toString(Utf8Mode mode);
std::string_view toString(CompressionMode mode);
std::string_view toString(HashKeySource source);
std::string_view toString(AuthType type);
std::string_view toString(TokenExpiry expiry);

struct Server {
  uint32_t workers = 0; // 0 = one per CPU this process may use (affinity, cgroup quota); <= 1024
  uint64_t max_connections = 100000; // all listeners together; at least 1
  Duration drain_timeout = std::chrono::seconds(30);
  // auto: io_uring where the kernel and seccomp allow it, else epoll; read at start only.
  IoEngine io = IoEngine::Auto;
};

struct Admin {
  Address listen{"127.0.0.1", 9901}; // port 0 = any free port
  // A request head must be complete by then (else 408, or a plain close when nothing came),
  // and the answer must be taken by the client within the same time again. > 0.
  Duration request_timeout = std::chrono::seconds(10);
  // Admin connections open at once; a connection over it is closed as soon as it is accepted.
  uint32_t max_connections = 64; // 1 to 4096
};

struct Log {
  LogLevel level = LogLevel::Info;
  LogFormat format = LogFormat::Auto;
  // `access_log` in the file is "stderr", "stdout", "off" or a path; a path gives
  // target File with the path in access_log_path, which is empty for every other target.
  AccessLogTarget access_log = AccessLogTarget::Stderr;
  std::string access_log_path;
};

// An extra certificate for one server name. File paths are not checked by the loader.
struct SniCertificate {
  std::string server_name; // lower-case
  std::string cert;
  std::string key;
};

struct Tls {
  std::string cert;
  std::string key;
  TlsVersion min_version = TlsVersion::Tls12;
  std::vector<SniCertificate> sni; // server names are unique within a listener
};

struct Listener {
  std::string name; // unique among listeners
  Address listen;   // port 0 = any free port
  std::optional<Tls> tls;
};

// Active health checks of a pool: a WebSocket upgrade probe on `path`.
struct HealthCheck {
  Duration interval = std::chrono::seconds(5); // > 0
  Duration timeout = std::chrono::seconds(2);  // > 0: connect, TLS and the 101 together
  std::string path = "/";                      // starts with '/'; no spaces or controls
  std::string host;                            // the probe's Host; "" = the backend's host
  uint32_t unhealthy_after = 3;                // >= 1
  uint32_t healthy_after = 2;                  // >= 1
};

// Where a pool's backends come from (fleet.cpp).
enum class Discovery { Static, Dns };

// How long-lived sessions follow the fleet when it changes ([pools.rebalance]).
struct Rebalance {
  bool enabled = false;       // shed from overloaded backends when backends are added
  double tolerance = 0.25;    // 0 to 100: shed above (1 + tolerance) x the fair share
  uint32_t rate = 10;         // 1 to 10000 closes per second per pool, paced evenly
  uint16_t close_code = 1012; // always isSendableCloseCode()
  Duration drain_removed{0};  // 0 = sessions of a removed backend stay until they end
};

struct Pool {
  std::string name; // unique among pools
  Balance balance = Balance::RoundRobin;
  HashKey hash_key;                                   // used only by ConsistentHash; default "ip"
  std::vector<Backend> backends;                      // never empty, no duplicates
  Duration connect_timeout = std::chrono::seconds(5); // > 0
  Duration handshake_timeout = std::chrono::seconds(10); // > 0
  std::string ca_file;                                   // "" = the system store
  std::string client_cert;                               // set exactly when client_key is set
  std::string client_key;
  std::optional<HealthCheck> health; // absent = passive only
  Discovery discovery = Discovery::Static;
  Duration resolve_interval = std::chrono::seconds(5); // > 0; used with Discovery::Dns
  Rebalance rebalance;
  // consistent_hash with bounded loads: a backend above this x the mean live sessions is passed
  // over for the next in table order. 0 = unbounded; else > 1.
  double hash_balance_factor = 0;
  uint64_t max_connections_per_backend = 0;       // 0 = unlimited; a backend's own limit wins
  Duration slow_start{0};                         // 0 = off; a new or recovered backend ramps up
  Duration retry_after = std::chrono::seconds(2); // > 0; the 503's Retry-After, jittered +-50%
};

// An [auth.NAME] table: how a policy that names it authenticates upgrades (CONFIG.md
// "Additions"). The files it names are read by the proxy at start and on every reload.
struct Auth {
  AuthType type = AuthType::Jwt;
  std::vector<std::string> token_from{"header:Authorization"}; // each parseTokenSource()-valid
  std::vector<std::string> algorithms; // jwt: non-empty, each parseAlgorithm()-valid
  std::string keys;                    // jwt: a JWKS, a PEM public key or an HS secret file
  std::string issuer;                  // "" = not checked
  std::string audience;                // "" = not checked
  Duration leeway = std::chrono::seconds(30);
  TokenExpiry expiry = TokenExpiry::Close;
  // Claim name -> request header to the backend, in the file's order; header names unique.
  std::vector<std::pair<std::string, std::string>> forward_claims;
  std::string tokens_file; // bearer: one accepted token per line
};

// How a route's WebSocket sessions are limited. Zero durations and counts mean "off"
// where CONFIG.md says so; the loader rejects zeros that would make no sense.
struct Policy {
  uint64_t max_frame_size = 1 * kMiB;                    // >= 1; over it: close 1009
  uint64_t max_message_size = 4 * kMiB;                  // >= 1; all fragments together: close 1009
  Utf8Mode utf8 = Utf8Mode::Strict;                      // Strict: invalid text closes with 1007
  bool allow_binary = true;                              // false: a binary message closes with 1008
  Duration ping_interval = std::chrono::seconds(30);     // 0 = no pings
  Duration pong_timeout = std::chrono::seconds(10);      // > 0 whenever ping_interval > 0
  Duration idle_timeout{0};                              // 0 = off; else close 1001
  Duration handshake_timeout = std::chrono::seconds(10); // > 0
  std::vector<std::string> allowed_origins; // empty = any; lower-case, see parseOriginPattern
  uint64_t max_connections_per_ip = 0;      // 0 = unlimited; over it: 429
  uint64_t max_messages_per_second = 0;     // 0 = unlimited; over it: close 4002
  Duration max_session_lifetime{0};         // 0 = unlimited; reached: close 4003
  uint16_t backend_lost_close_code = 1014;  // always isSendableCloseCode()
  // Frames from backends; 0 = max_message_size (a backend that sends a whole message as one
  // frame is never cut by the default). max_frame_size applies to client frames only.
  uint64_t backend_max_frame_size = 0;
  bool allow_missing_origin = true; // with allowed_origins set: admit requests without Origin
  CompressionMode compression = CompressionMode::Inspect;
  // Upgrades per second per client IP (token bucket, burst 2x); 0 = unlimited; over it: 429.
  uint64_t max_handshakes_per_second_per_ip = 0;
  std::string auth;               // the name of an [auth.NAME] table; "" = none
  const Auth* auth_ptr = nullptr; // resolved by the loader: &Config::auth.at(auth), or null
};

inline constexpr std::size_t kUnresolved = static_cast<std::size_t>(-1);

struct Route {
  // Not in CONFIG.md's example: an optional label for logs and metrics. Defaults to
  // host + path_prefix ("*/", "chat.example.com/ws"); names given explicitly are unique.
  std::string name;
  std::string listener;                   // name of a Listener
  std::string host = "*";                 // "*", exact or "*.suffix"; lower-case
  std::string path_prefix = "/";          // starts with '/'; the longest match wins
  std::string pool;                       // name of a Pool
  std::string policy{kDefaultPolicyName}; // name of a Policy

  // Resolved by the loader; in a loaded Config they always point at the named objects
  // of the same Config: listeners[listener_index], pools[pool_index], policies[policy].
  std::size_t listener_index = kUnresolved;
  std::size_t pool_index = kUnresolved;
  const Policy* policy_ptr = nullptr;
};

// Move-only: Route::policy_ptr points into `policies`, and std::map keeps its nodes
// (so those pointers stay valid) when moved, but not when copied.
struct Config {
  Config() = default;
  Config(Config&&) = default;
  Config& operator=(Config&&) = default;
  Config(const Config&) = delete;
  Config& operator=(const Config&) = delete;
  ~Config() = default;

  Server server;
  Admin admin;
  Log log;
  std::vector<Listener> listeners; // never empty in a loaded Config
  std::vector<Route> routes;       // in file order; (listener, host, path_prefix) unique
  std::vector<Pool> pools;
  // Always holds kDefaultPolicyName: built from CONFIG.md's defaults when the file has
  // no [policies.default] table.
  std::map<std::string, Policy> policies;
  std::map<std::string, Auth> auth; // [auth.NAME] tables; Policy::auth_ptr points in here
  std::string source;               // the file path or name the config was loaded from

  [[nodiscard]] const Policy& defaultPolicy() const {
    return policies.at(std::string(kDefaultPolicyName));
  }
};

// One problem in a configuration file. `line` and `column` (1-based) locate the
// offending value, key or table in the TOML source; they are 0 when the problem is
// not inside the text (the file cannot be read). `key_path` names the setting, like
// "routes[1].pool" or "policies.default.utf8"; it is empty for TOML syntax errors.
struct ConfigError {
  std::string file;
  int line = 0;
  int column = 0;
  std::string key_path;
  std::string message;
};

// `config` is set exactly when `errors` is empty.
struct LoadResult {
  std::shared_ptr<const Config> config;
  std::vector<ConfigError> errors;

  [[nodiscard]] bool ok() const { return config != nullptr && errors.empty(); }
};

// Reads and validates a configuration file. Never throws; every problem found is in
// `errors`, sorted by position (a TOML syntax error stops parsing: it is the only one).
// File paths inside the config (certificates, CA bundles, the access log) are not opened.
LoadResult loadConfigFile(const std::string& path);

// The same for text already in memory; `name` stands for the file in errors and in
// Config::source.
LoadResult loadConfigString(std::string_view toml, std::string_view name);

// Every key the loader reads, as a path with "[]" for an array element and "<name>" for a
// policy's name: "server.workers", "listeners[].tls.sni[].cert", "policies.<name>.utf8".
// Tables themselves are not listed. Sorted, unique. The configuration reference
// (docs/configuration.md) documents exactly these; a unit test compares the two.
std::vector<std::string> acceptedKeys();

// "FILE:LINE:COL: KEY_PATH: MESSAGE", or "FILE: MESSAGE" without a position; the key
// path and its ": " are left out when empty.
std::string formatError(const ConfigError& error);

} // namespace wsgate::config
