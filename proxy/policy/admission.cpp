#include "proxy/policy/admission.h"

#include "common/config/routing.h"

#include <array>
#include <chrono>

namespace wsgate::proxy::policy {
namespace {

Decision checkHandshakeRate(const AdmissionRequest& in, Admitted& admitted) {
  const uint64_t rate = in.policy.max_handshakes_per_second_per_ip;
  if (rate == 0) return {};
  const auto verdict = in.state.handshake_limiter.take(in.client_ip, rate, in.now_ms);
  if (verdict.admitted) return {};
  admitted.rate_limited = true;
  return {429,
          "too many handshakes from " + in.client_ip + " (more than " + std::to_string(rate) +
              " per second); reconnect with exponential backoff and jitter",
          {{"Retry-After", std::to_string(verdict.retry_after_s)}}};
}

Decision checkOrigin(const AdmissionRequest& in, Admitted& /*admitted*/) {
  if (in.policy.allowed_origins.empty()) return {};
  const auto origin = in.request.headers.get("origin");
  if (!origin) {
    if (in.policy.allow_missing_origin) return {};
    return {403, "an Origin header is required on this route", {}};
  }
  if (config::originAllowed(in.policy, *origin)) return {};
  return {403, "origin '" + std::string(*origin) + "' is not allowed on this route", {}};
}

Decision checkConnectionsPerIp(const AdmissionRequest& in, Admitted& admitted) {
  if (!in.state.admitIp(in.client_ip, in.policy.max_connections_per_ip)) {
    return {429, "too many connections from " + in.client_ip, {{"Retry-After", "1"}}};
  }
  admitted.ip_counted = true;
  return {};
}

constexpr std::array<Check, 4> kChecks{checkHandshakeRate, checkOrigin, checkAuth,
                                       checkConnectionsPerIp};

} // namespace

int64_t unixNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::span<const Check> admissionChecks() {
  return kChecks;
}

Decision admit(const AdmissionRequest& request, Admitted& admitted) {
  for (const Check check : kChecks) {
    Decision decision = check(request, admitted);
    if (!decision.admitted()) return decision;
  }
  return {};
}

} // namespace wsgate::proxy::policy
