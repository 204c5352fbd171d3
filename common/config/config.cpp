#include "common/config/config.h"

#include "common/config/loader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <toml++/toml.h>

namespace wsgate::config {
namespace {

LoadResult failure(std::string file, int line, int column, std::string message) {
  LoadResult result;
  result.errors.push_back(ConfigError{std::move(file), line, column, {}, std::move(message)});
  return result;
}

LoadResult syntaxError(const toml::parse_error& error, std::string_view name) {
  const toml::source_position& at = error.source().begin;
  const auto clamp = [](toml::source_index i) {
    return i > 0x7fffffffU ? 0x7fffffff : static_cast<int>(i);
  };
  return failure(std::string(name), clamp(at.line), clamp(at.column),
                 std::string(error.description()));
}

// Parses and loads; may throw only what toml++ or the standard library throws.
LoadResult parseAndLoad(std::string_view text, std::string_view name) {
  toml::table root;
#if TOML_EXCEPTIONS
  try {
    root = toml::parse(text, std::string(name));
  } catch (const toml::parse_error& error) {
    return syntaxError(error, name);
  }
#else
  toml::parse_result parsed = toml::parse(text, std::string(name));
  if (!parsed) return syntaxError(parsed.error(), name);
  root = std::move(parsed).table();
#endif
  detail::ErrorSink errors{std::string(name)};
  auto config = std::make_shared<Config>();
  config->source = std::string(name);
  detail::readConfig(root, *config, errors);
  LoadResult result;
  if (errors.empty()) {
    result.config = std::move(config);
  } else {
    result.errors = errors.take();
  }
  return result;
}

} // namespace

LoadResult loadConfigString(std::string_view toml, std::string_view name) {
  try {
    return parseAndLoad(toml, name);
  } catch (const std::exception& error) {
    return failure(std::string(name), 0, 0, std::string("cannot load: ") + error.what());
  } catch (...) {
    return failure(std::string(name), 0, 0, "cannot load: unexpected error");
  }
}

LoadResult loadConfigFile(const std::string& path) {
  try {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      return failure(path, 0, 0, "cannot read: is a directory");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) return failure(path, 0, 0, std::string("cannot open: ") + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return failure(path, 0, 0, std::string("cannot read: ") + std::strerror(errno));
    return loadConfigString(text.str(), path);
  } catch (const std::exception& error) {
    return failure(path, 0, 0, std::string("cannot read: ") + error.what());
  }
}

std::vector<std::string> acceptedKeys() {
  // Every table the loader knows, present once, so that each section asks for all its keys
  // (a key is recorded when asked for, present or not).
  static constexpr std::string_view kSkeleton = R"toml(
[server]
[admin]
[log]
[[listeners]]
[listeners.tls]
[[listeners.tls.sni]]
[[routes]]
[[pools]]
[pools.health]
[pools.rebalance]
[policies.NAME]
[auth.NAME]
)toml";
#if TOML_EXCEPTIONS
  const toml::table root = toml::parse(kSkeleton, std::string("skeleton"));
#else
  const toml::table root = std::move(toml::parse(kSkeleton, std::string("skeleton"))).table();
#endif
  std::vector<std::string> keys;
  detail::ErrorSink errors{"skeleton"};
  errors.recordKeys(&keys);
  Config config;
  detail::readConfig(root, config, errors);
  const std::regex index(R"(\[[0-9]+\])");
  for (std::string& key : keys) {
    key = std::regex_replace(key, index, "[]");
    if (key.rfind("policies.NAME.", 0) == 0) key.replace(0, 14, "policies.<name>.");
    if (key.rfind("auth.NAME.", 0) == 0) key.replace(0, 10, "auth.<name>.");
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

std::string formatError(const ConfigError& error) {
  std::string out = error.file;
  if (error.line > 0) {
    out += ":" + std::to_string(error.line) + ":" + std::to_string(error.column);
  }
  out += ": ";
  if (!error.key_path.empty()) out += error.key_path + ": ";
  out += error.message;
  return out;
}

std::string_view toString(LogLevel level) {
  switch (level) {
  case LogLevel::Error:
    return "error";
  case LogLevel::Warn:
    return "warn";
  case LogLevel::Info:
    return "info";
  case LogLevel::Debug:
    return "debug";
  }
  return "?";
}

std::string_view toString(IoEngine engine) {
  switch (engine) {
  case IoEngine::Auto:
    return "auto";
  case IoEngine::Epoll:
    return "epoll";
  case IoEngine::IoUring:
    return "io_uring";
  }
  return "auto";
}

std::string_view toString(LogFormat format) {
  switch (format) {
  case LogFormat::Json:
    return "json";
  case LogFormat::Text:
    return "text";
  case LogFormat::Auto:
    return "auto";
  }
  return "?";
}

std::string_view toString(AccessLogTarget target) {
  switch (target) {
  case AccessLogTarget::Stderr:
    return "stderr";
  case AccessLogTarget::Stdout:
    return "stdout";
  case AccessLogTarget::Off:
    return "off";
  case AccessLogTarget::File:
    return "file";
  }
  return "?";
}

std::string_view toString(TlsVersion version) {
  return version == TlsVersion::Tls12 ? "1.2" : "1.3";
}

std::string_view toString(Balance balance) {
  switch (balance) {
  case Balance::RoundRobin:
    return "round_robin";
  case Balance::LeastConn:
    return "least_conn";
  case Balance::ConsistentHash:
    return "consistent_hash";
  case Balance::PowerOfTwoChoices:
    return "p2c";
  case Balance::Random:
    return "random";
  }
  return "?";
}

std::string_view toString(Utf8Mode mode) {
  return mode == Utf8Mode::Strict ? "strict" : "off";
}

std::string_view toString(CompressionMode mode) {
  return mode == CompressionMode::Inspect ? "inspect" : "off";
}

std::string_view toString(AuthType type) {
  return type == AuthType::Jwt ? "jwt" : "bearer";
}

std::string_view toString(TokenExpiry expiry) {
  return expiry == TokenExpiry::Close ? "close" : "ignore";
}

std::string_view toString(HashKeySource source) {
  switch (source) {
  case HashKeySource::Ip:
    return "ip";
  case HashKeySource::Header:
    return "header";
  case HashKeySource::Cookie:
    return "cookie";
  case HashKeySource::Query:
    return "query";
  case HashKeySource::Path:
    return "path";
  }
  return "?";
}

} // namespace wsgate::config
