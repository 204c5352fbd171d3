#pragma once

// Admission of an upgrade request: a list of checks run in order, each answering with a
// decision (an HTTP status, a reason, extra headers). The first refusal wins; the session
// only sends it. Checks that hold a resource (a per-IP connection slot) come last, so a
// refusal by a later check never leaks one.

#include "common/auth/failure.h"
#include "common/config/config.h"
#include "common/http/parser.h"
#include "proxy/policy/admission_state.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace wsgate::proxy::policy {

struct Decision {
  int status = 0; // 0 = this check admits the request
  std::string reason;
  std::vector<http::Header> headers;
  bool admitted() const { return status == 0; }
};

struct AdmissionRequest {
  const http::Request& request;
  std::string_view target; // normalised origin-form target (holds the query)
  const config::Policy& policy;
  const std::string& client_ip;
  AdmissionState& state; // shared by every worker
  uint64_t now_ms;       // monotonic
  int64_t unix_now_ms;   // wall clock, for token times
};

// What the checks leave for the session once the request is admitted (or why not).
struct Admitted {
  bool ip_counted = false;   // holds a max_connections_per_ip slot: release at the end
  bool rate_limited = false; // refused by max_handshakes_per_second_per_ip
  std::optional<auth::Failure> auth_result; // set when the policy authenticates
  std::optional<int64_t> close_at_unix_ms;  // expiry = "close": the session ends then (4001)
  std::vector<http::Header> claim_headers;  // forward_claims, to add towards the backend
  std::vector<std::string> drop_headers;    // client headers named like claim headers
  std::optional<std::string> target;        // the target without a query token
  bool drop_token_protocol = false;         // remove "bearer.*" from Sec-WebSocket-Protocol
};

using Check = Decision (*)(const AdmissionRequest& request, Admitted& admitted);

// The checks, in the order they run: handshake rate, origin, authentication, per-IP
// connections.
std::span<const Check> admissionChecks();

// Runs admissionChecks() until one refuses; an admitted request returns status 0.
Decision admit(const AdmissionRequest& request, Admitted& admitted);

// The wall clock in milliseconds since the Unix epoch (token times are Unix times).
int64_t unixNowMs();

// The authentication check alone (auth_check.cpp).
Decision checkAuth(const AdmissionRequest& request, Admitted& admitted);

} // namespace wsgate::proxy::policy
