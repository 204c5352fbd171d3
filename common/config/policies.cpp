#include "common/config/loader.h"

#include <limits>

namespace wsgate::config::detail {
namespace {

constexpr int64_t kMaxCount = std::numeric_limits<int64_t>::max();

void readOrigins(TableReader& in, Policy& policy) {
  in.readStringArray("allowed_origins", ArrayErrors::Continue, [&](const std::string& text) {
    Parsed<std::string> origin = parseOriginPattern(text);
    if (!origin) return std::move(origin.error);
    policy.allowed_origins.push_back(std::move(*origin.value));
    return std::string();
  });
}

void readCloseCode(TableReader& in, Policy& policy) {
  int64_t code = 0;
  const toml::node* node = in.readInteger("backend_lost_close_code", code,
                                          std::numeric_limits<int64_t>::min(), kMaxCount);
  if (node == nullptr) return;
  if (!isSendableCloseCode(code)) {
    in.error(*node, "backend_lost_close_code",
             std::to_string(code) +
                 " is not a close code that may be sent; use 1000-1003, 1007-1014 or 3000-4999");
    return;
  }
  policy.backend_lost_close_code = static_cast<uint16_t>(code);
}

void readAuthName(TableReader& in, Policy& policy, const std::map<std::string, Auth>& auth) {
  const toml::node* node = in.readString("auth", policy.auth);
  if (node == nullptr || policy.auth.empty()) return;
  const auto it = auth.find(policy.auth);
  if (it == auth.end()) {
    in.error(*node, "auth", "no [auth." + policy.auth + "] table");
    return;
  }
  policy.auth_ptr = &it->second;
}

void readPolicy(TableReader& in, Policy& policy, const std::map<std::string, Auth>& auth) {
  in.readSize("max_frame_size", policy.max_frame_size);
  in.readSize("max_message_size", policy.max_message_size);
  in.readEnum("utf8", policy.utf8, {{"strict", Utf8Mode::Strict}, {"off", Utf8Mode::Off}});
  in.readBool("allow_binary", policy.allow_binary);
  in.readDuration("ping_interval", policy.ping_interval, DurationRule::ZeroAllowed);
  const toml::node* pong =
      in.readDuration("pong_timeout", policy.pong_timeout, DurationRule::ZeroAllowed);
  in.readDuration("idle_timeout", policy.idle_timeout, DurationRule::ZeroAllowed);
  in.readDuration("handshake_timeout", policy.handshake_timeout, DurationRule::Positive);
  readOrigins(in, policy);
  in.readUnsigned("max_connections_per_ip", policy.max_connections_per_ip, 0, kMaxCount);
  in.readUnsigned("max_messages_per_second", policy.max_messages_per_second, 0, kMaxCount);
  in.readDuration("max_session_lifetime", policy.max_session_lifetime, DurationRule::ZeroAllowed);
  readCloseCode(in, policy);
  in.readSize("backend_max_frame_size", policy.backend_max_frame_size, SizeRule::ZeroAllowed);
  in.readBool("allow_missing_origin", policy.allow_missing_origin);
  in.readEnum("compression", policy.compression,
              {{"inspect", CompressionMode::Inspect}, {"off", CompressionMode::Off}});
  in.readUnsigned("max_handshakes_per_second_per_ip", policy.max_handshakes_per_second_per_ip, 0,
                  1000000);
  readAuthName(in, policy, auth);
  // A zero pong_timeout can only come from the file, so `pong` is set whenever it is zero.
  if (policy.ping_interval.count() > 0 && policy.pong_timeout.count() == 0 && pong != nullptr) {
    in.error(*pong, "pong_timeout",
             "must be greater than zero while ping_interval is set (ping_interval = \"0s\" "
             "disables pings)");
  }
}

} // namespace

void readPolicies(TableReader& root, Config& config) {
  root.readNamedTables("policies", "a policy", [&](std::string name, TableReader& in) {
    Policy policy;
    readPolicy(in, policy, config.auth);
    config.policies.emplace(std::move(name), std::move(policy));
  });
  // Routes without a `policy` key use "default", which exists even when not written.
  config.policies.try_emplace(std::string(kDefaultPolicyName));
}

} // namespace wsgate::config::detail
