// Fuzzes the configuration loader with the input as a TOML file. Beyond "no crash and no
// escaping exception", it checks what callers rely on: a config exactly when there are no
// errors, errors sorted by position, and in a loaded config every route resolved to
// objects of the same config and every limit within its documented range. The input also
// goes through the scalar parsers, whose canonical outputs must parse back to themselves.
#include "common/config/config.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

namespace {

using namespace wsgate::config;

void check(bool ok) {
  if (!ok) std::abort();
}

void checkErrors(const LoadResult& result) {
  check(result.ok() == (result.config != nullptr));
  check(result.ok() == result.errors.empty());
  for (std::size_t i = 0; i < result.errors.size(); ++i) {
    const ConfigError& error = result.errors[i];
    check(error.file == "fuzz.toml");
    check(error.line >= 0 && error.column >= 0);
    check(!error.message.empty());
    check(formatError(error).rfind("fuzz.toml", 0) == 0);
    if (i > 0) {
      const ConfigError& before = result.errors[i - 1];
      check(std::pair(before.line, before.column) <= std::pair(error.line, error.column));
    }
  }
}

void checkPolicy(const Policy& policy) {
  check(policy.max_frame_size >= 1 && policy.max_message_size >= 1);
  check(isSendableCloseCode(policy.backend_lost_close_code));
  check(policy.ping_interval.count() == 0 || policy.pong_timeout.count() > 0);
  check(policy.handshake_timeout.count() > 0);
  for (const auto duration : {policy.ping_interval, policy.pong_timeout, policy.idle_timeout,
                              policy.handshake_timeout, policy.max_session_lifetime}) {
    check(duration.count() >= 0 && duration <= kMaxDuration);
  }
}

void checkConfig(const Config& config) {
  check(!config.listeners.empty());
  check(config.policies.count(std::string(kDefaultPolicyName)) == 1);
  for (const auto& [name, policy] : config.policies)
    checkPolicy(policy);
  for (const Route& route : config.routes) {
    check(route.listener_index < config.listeners.size());
    check(config.listeners[route.listener_index].name == route.listener);
    check(route.pool_index < config.pools.size());
    check(config.pools[route.pool_index].name == route.pool);
    check(route.policy_ptr == &config.policies.at(route.policy));
    check(!route.path_prefix.empty() && route.path_prefix.front() == '/');
  }
  for (const Pool& pool : config.pools) {
    check(!pool.backends.empty());
    for (const Backend& backend : pool.backends)
      check(backend.address.port != 0);
    check(pool.connect_timeout.count() > 0 && pool.handshake_timeout.count() > 0);
    check(pool.client_cert.empty() == pool.client_key.empty());
    check(pool.hash_key.name.empty() == (pool.hash_key.source == HashKeySource::Ip));
  }
}

// Parsing the canonical form of a parsed value gives the same value.
void checkScalars(std::string_view text) {
  if (const auto duration = parseDuration(text)) {
    check(*duration.value <= kMaxDuration);
    const auto again = parseDuration(formatDuration(*duration.value));
    check(again && *again.value == *duration.value);
  }
  (void)parseSize(text);
  for (const PortRule rule : {PortRule::AllowZero, PortRule::NonZero}) {
    if (const auto address = parseAddress(text, rule)) {
      const auto again = parseAddress(formatAddress(*address.value), rule);
      check(again && *again.value == *address.value);
    }
  }
  if (const auto backend = parseBackend(text)) check(backend.value->address.port != 0);
  if (const auto key = parseHashKey(text)) {
    check(key.value->name.empty() == (key.value->source == HashKeySource::Ip));
  }
  if (const auto host = parseHostPattern(text)) {
    const auto again = parseHostPattern(*host.value);
    check(again && *again.value == *host.value);
  }
  if (const auto origin = parseOriginPattern(text)) {
    const auto again = parseOriginPattern(*origin.value);
    check(again && *again.value == *origin.value);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const LoadResult result = loadConfigString(text, "fuzz.toml");
  checkErrors(result);
  if (result.config != nullptr) checkConfig(*result.config);
  if (size <= 256) checkScalars(text);
  return 0;
}
