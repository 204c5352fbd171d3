// The authentication check of admission: find the token, verify it, and say what the
// session must change in the forwarded request (a query or subprotocol token removed, claims
// added). Neither the reason nor anything else built here contains the token.
#include "proxy/policy/admission.h"
#include "proxy/policy/auth_set.h"

namespace wsgate::proxy::policy {
namespace {

Decision refuse(auth::Failure failure) {
  const std::string description(auth::describe(failure));
  // RFC 6750 section 3.1: a request without credentials gets no error code.
  std::string challenge =
      failure == auth::Failure::Missing
          ? "Bearer error_description=\"" + description + "\""
          : "Bearer error=\"invalid_token\", error_description=\"" + description + "\"";
  return {401, "authentication failed: " + description, {{"WWW-Authenticate", challenge}}};
}

auth::Failure verify(const Authenticator& authenticator, const std::string& token,
                     const AdmissionRequest& in, Admitted& admitted) {
  if (authenticator.bearer) {
    return authenticator.bearer->accepts(token) ? auth::Failure::Ok : auth::Failure::UnknownToken;
  }
  const auth::JwtResult result = authenticator.verifyJwt(token, in.unix_now_ms / 1000);
  if (result.failure != auth::Failure::Ok) return result.failure;
  const config::Auth& conf = *authenticator.config;
  if (conf.expiry == config::TokenExpiry::Close && result.exp) {
    // The token is good until exp + leeway (the same rule that admitted it).
    admitted.close_at_unix_ms = (*result.exp + conf.leeway.count() / 1000) * 1000;
  }
  for (const auto& [claim, value] : result.claims) {
    for (const auto& [name, header] : conf.forward_claims) {
      if (name == claim) admitted.claim_headers.push_back({header, value});
    }
  }
  return auth::Failure::Ok;
}

} // namespace

Decision checkAuth(const AdmissionRequest& in, Admitted& admitted) {
  if (in.policy.auth.empty()) return {};
  const auto set = in.state.auth();
  const Authenticator* authenticator = set ? set->find(in.policy.auth) : nullptr;
  if (authenticator == nullptr) {
    // Only between two reloads that removed the table: the next request sees the new policy.
    return {503, "authentication '" + in.policy.auth + "' is being reloaded", {}};
  }
  const auto found = auth::findToken(authenticator->sources, in.request.headers, in.target);
  auth::Failure failure = auth::Failure::Missing;
  if (found) failure = verify(*authenticator, found->token, in, admitted);
  admitted.auth_result = failure;
  if (failure != auth::Failure::Ok) return refuse(failure);
  for (const auto& [claim, header] : authenticator->config->forward_claims)
    admitted.drop_headers.push_back(header);
  for (const auth::TokenSource& source : authenticator->sources) {
    if (source.kind == auth::SourceKind::Query) {
      admitted.target =
          auth::removeQueryParameter(admitted.target ? *admitted.target : in.target, source.name);
    }
    if (source.kind == auth::SourceKind::Subprotocol) admitted.drop_token_protocol = true;
  }
  return {};
}

} // namespace wsgate::proxy::policy
