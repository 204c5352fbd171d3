// Admission of a session's request (the checks live in proxy/policy/) and the close when its
// token expires.
#include "common/ws/close.h"
#include "proxy/session/session.h"

namespace wsgate::proxy {

bool Session::admitRequest(const http::Request& request) {
  Handshake& hs = *handshake_;
  const std::string ip = clientIp();
  const policy::AdmissionRequest in{request,           hs.target, *policy_,           ip,
                                    host_.admission(), now(),     policy::unixNowMs()};
  policy::Decision decision = policy::admit(in, hs.admitted);
  ip_counted_ = hs.admitted.ip_counted;
  recordAdmission(hs.admitted);
  if (!decision.admitted()) {
    reject(decision.status, decision.reason, Termination::HandshakeRejected,
           std::move(decision.headers));
    return false;
  }
  if (hs.admitted.target) hs.target = *hs.admitted.target;
  return true;
}

void Session::recordAdmission(const policy::Admitted& admitted) {
  metrics::WorkerStats& stats = host_.stats();
  if (admitted.rate_limited) stats.handshakes_rate_limited.add();
  if (admitted.auth_result) {
    stats.auth_results[static_cast<std::size_t>(*admitted.auth_result)].add();
  }
}

void Session::onTokenExpired() {
  if (state_ != State::Open) return;
  // The wheel runs on the loop's cached clock; the token's time is the wall clock. Until the
  // wall clock says so, the token has not expired: wait for the rest.
  const int64_t left = token_close_at_ms_ - policy::unixNowMs();
  if (left > 0) {
    arm(ExpiryTimer, static_cast<uint64_t>(left));
    return;
  }
  host_.stats().token_expired_closes.add();
  closeBoth(Termination::TokenExpired, ws::close_code::kAuthExpired, "token expired",
            ws::close_code::kGoingAway, "client token expired");
}

} // namespace wsgate::proxy
