#include "common/config/loader.h"

#include <algorithm>
#include <limits>

namespace wsgate::config::detail {
namespace {

constexpr int64_t kMaxWorkers = 1024;
constexpr int64_t kMaxAdminConnections = 4096;
constexpr int64_t kMaxCount = std::numeric_limits<int64_t>::max();

// Reads `[listeners.tls]`; `tls` is only set when the table is present.
void readTls(TableReader& listener, std::optional<Tls>& out) {
  const toml::table* table = listener.getTable("tls");
  if (table == nullptr) return;
  TableReader in(*table, listener.pathOf("tls"), listener.errors());
  Tls tls;
  in.readNonEmptyString("cert", tls.cert, Need::Required);
  in.readNonEmptyString("key", tls.key, Need::Required);
  std::string version;
  if (const toml::node* node = in.get("min_version"); node != nullptr) {
    if (node->is_floating_point()) {
      in.error(*node, "min_version", "expected a string: write \"1.2\" or \"1.3\" in quotes");
    } else if (in.readString("min_version", version) != nullptr) {
      if (version == "1.2") {
        tls.min_version = TlsVersion::Tls12;
      } else if (version == "1.3") {
        tls.min_version = TlsVersion::Tls13;
      } else if (version == "1.0" || version == "1.1") {
        in.error(*node, "min_version",
                 "TLS " + version + " is not supported; use \"1.2\" or \"1.3\"");
      } else {
        in.error(*node, "min_version",
                 "invalid value \"" + version + "\"; expected \"1.2\" or \"1.3\"");
      }
    }
  }
  if (const toml::array* sni = in.getArray("sni")) {
    std::vector<const toml::node*> seen; // server_name nodes, parallel to tls.sni
    forEachTable(in, "sni", *sni, [&](TableReader& entry, std::size_t) {
      SniCertificate cert;
      std::string name;
      const toml::node* nameNode = entry.readNonEmptyString("server_name", name, Need::Required);
      if (nameNode != nullptr) {
        Parsed<std::string> pattern = parseHostPattern(name);
        if (!pattern || *pattern.value == "*") {
          entry.error(*nameNode, "server_name",
                      pattern ? "must be a server name or \"*.domain\", not \"*\"" : pattern.error);
          nameNode = nullptr;
        } else {
          cert.server_name = std::move(*pattern.value);
        }
      }
      for (std::size_t i = 0; nameNode != nullptr && i < tls.sni.size(); ++i) {
        if (seen[i] != nullptr && tls.sni[i].server_name == cert.server_name) {
          entry.error(*nameNode, "server_name",
                      "duplicate server_name \"" + cert.server_name + "\" (also at line " +
                          std::to_string(seen[i]->source().begin.line) + ")");
          break;
        }
      }
      entry.readNonEmptyString("cert", cert.cert, Need::Required);
      entry.readNonEmptyString("key", cert.key, Need::Required);
      tls.sni.push_back(std::move(cert));
      seen.push_back(nameNode);
    });
  }
  in.reportUnknownKeys();
  out = std::move(tls);
}

// A path prefix: starts with '/', no spaces, control characters, '?' or '#'.
std::string checkPathPrefix(std::string_view prefix) {
  if (prefix.empty() || prefix.front() != '/') return "must start with '/'";
  for (char c : prefix) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f || c == '?' || c == '#') {
      return "must be a URL path without spaces, control characters, '?' or '#'";
    }
  }
  return "";
}

} // namespace

void readServer(TableReader& root, Server& server) {
  const toml::table* table = root.getTable("server");
  if (table == nullptr) return;
  TableReader in(*table, "server", root.errors());
  in.readUnsigned("workers", server.workers, 0, kMaxWorkers);
  in.readUnsigned("max_connections", server.max_connections, 1, kMaxCount);
  in.readDuration("drain_timeout", server.drain_timeout, DurationRule::ZeroAllowed);
  in.readEnum(
      "io", server.io,
      {{"auto", IoEngine::Auto}, {"epoll", IoEngine::Epoll}, {"io_uring", IoEngine::IoUring}});
  in.reportUnknownKeys();
}

void readAdmin(TableReader& root, Admin& admin) {
  const toml::table* table = root.getTable("admin");
  if (table == nullptr) return;
  TableReader in(*table, "admin", root.errors());
  in.readAddress("listen", admin.listen, PortRule::AllowZero);
  in.readDuration("request_timeout", admin.request_timeout, DurationRule::Positive);
  in.readUnsigned("max_connections", admin.max_connections, 1, kMaxAdminConnections);
  in.reportUnknownKeys();
}

void readLog(TableReader& root, Log& log) {
  const toml::table* table = root.getTable("log");
  if (table == nullptr) return;
  TableReader in(*table, "log", root.errors());
  in.readEnum("level", log.level,
              {{"error", LogLevel::Error},
               {"warn", LogLevel::Warn},
               {"info", LogLevel::Info},
               {"debug", LogLevel::Debug}});
  in.readEnum("format", log.format,
              {{"auto", LogFormat::Auto}, {"json", LogFormat::Json}, {"text", LogFormat::Text}});
  std::string target;
  if (in.readNonEmptyString("access_log", target) != nullptr) {
    log.access_log_path.clear();
    if (target == "stderr") {
      log.access_log = AccessLogTarget::Stderr;
    } else if (target == "stdout") {
      log.access_log = AccessLogTarget::Stdout;
    } else if (target == "off") {
      log.access_log = AccessLogTarget::Off;
    } else {
      log.access_log = AccessLogTarget::File;
      log.access_log_path = std::move(target);
    }
  }
  in.reportUnknownKeys();
}

void readListeners(TableReader& root, Config& config, Origins& origins) {
  const toml::array* array = root.getArray("listeners");
  if (array == nullptr || array->empty()) {
    const std::string message = "at least one [[listeners]] table is required";
    if (array != nullptr) {
      root.error(*array, "listeners", message);
    } else if (root.get("listeners") == nullptr) {
      root.errors().addAtTop("listeners", message);
    }
    return;
  }
  forEachTable(root, "listeners", *array, [&](TableReader& in, std::size_t) {
    Listener listener;
    Origins::Named origin{&in.table(), nullptr};
    origin.name = in.readNonEmptyString("name", listener.name, Need::Required);
    if (origin.name == nullptr) origins.listener_names_complete = false;
    in.readAddress("listen", listener.listen, PortRule::AllowZero, Need::Required);
    readTls(in, listener.tls);
    config.listeners.push_back(std::move(listener));
    origins.listeners.push_back(origin);
  });
}

void readRoutes(TableReader& root, Config& config, Origins& origins) {
  const toml::array* array = root.getArray("routes");
  if (array == nullptr) return;
  forEachTable(root, "routes", *array, [&](TableReader& in, std::size_t) {
    Route route;
    Origins::RouteOrigin origin;
    origin.table = &in.table();
    origin.name = in.readNonEmptyString("name", route.name);
    origin.listener = in.readNonEmptyString("listener", route.listener, Need::Required);
    std::string host;
    origin.host = in.readString("host", host);
    if (origin.host != nullptr) {
      Parsed<std::string> pattern = parseHostPattern(host);
      if (pattern) {
        route.host = std::move(*pattern.value);
      } else {
        in.error(*origin.host, "host", std::move(pattern.error));
        origin.host = nullptr;
      }
    }
    std::string prefix;
    origin.path_prefix = in.readString("path_prefix", prefix);
    if (origin.path_prefix != nullptr) {
      if (std::string why = checkPathPrefix(prefix); why.empty()) {
        route.path_prefix = std::move(prefix);
      } else {
        in.error(*origin.path_prefix, "path_prefix", std::move(why));
        origin.path_prefix = nullptr;
      }
    }
    origin.match_valid = (origin.host != nullptr || !in.table().contains("host")) &&
                         (origin.path_prefix != nullptr || !in.table().contains("path_prefix"));
    origin.pool = in.readNonEmptyString("pool", route.pool, Need::Required);
    origin.policy = in.readNonEmptyString("policy", route.policy);
    if (origin.name == nullptr) route.name = route.host + route.path_prefix;
    config.routes.push_back(std::move(route));
    origins.routes.push_back(origin);
  });
}

void readConfig(const toml::table& root, Config& config, ErrorSink& errors) {
  TableReader in(root, "", errors);
  Origins origins;
  readServer(in, config.server);
  readAdmin(in, config.admin);
  readLog(in, config.log);
  readListeners(in, config, origins);
  readRoutes(in, config, origins);
  readPools(in, config, origins);
  readAuth(in, config);
  readPolicies(in, config);
  in.reportUnknownKeys();
  crossCheck(config, origins, errors);
}

} // namespace wsgate::config::detail
