#pragma once

// Verification of JWS compact tokens (RFC 7515, 7519): pure code, no I/O. The algorithm
// is checked against the allow-list and against the type of the key that verifies it, so
// "alg" in a token never chooses how its signature is checked by itself: an HS256 token
// cannot be verified with an RSA public key used as an HMAC secret, and "none" is unknown.

#include "common/auth/failure.h"
#include "common/auth/keys.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wsgate::auth {

// Longer tokens are refused as malformed before anything is decoded.
inline constexpr std::size_t kMaxTokenLength = 8192;
// JSON nesting allowed in a header or claims set.
inline constexpr int kMaxJsonDepth = 16;

struct JwtRules {
  std::vector<Algorithm> algorithms; // accepted "alg" values; never empty in use
  std::string issuer;                // "" = iss not checked
  std::string audience;              // "" = aud not checked
  int64_t leeway_s = 0;              // clock skew allowed on exp and nbf
};

struct JwtResult {
  Failure failure = Failure::Malformed;
  std::optional<int64_t> exp; // the token's exp (Unix seconds), when it has one
  // The claims asked for, in the order asked, that exist and are printable as a header value:
  // strings as they are, other JSON values serialised.
  std::vector<std::pair<std::string, std::string>> claims;
};

class JwtVerifier {
public:
  JwtVerifier(KeySet keys, JwtRules rules) : keys_(std::move(keys)), rules_(std::move(rules)) {}

  // `now_s`: the current Unix time in seconds. `claim_names`: claims to return.
  JwtResult verify(std::string_view token, int64_t now_s,
                   const std::vector<std::string>& claim_names) const;

  const KeySet& keys() const { return keys_; }

private:
  bool allowed(Algorithm algorithm) const;

  KeySet keys_;
  JwtRules rules_;
};

// True when `signature` over `input` verifies with `key` under `algorithm`; false too when
// the key does not fit the algorithm. ES* signatures are JOSE's fixed-size r||s.
bool verifySignature(Algorithm algorithm, const Key& key, std::string_view input,
                     std::string_view signature);

} // namespace wsgate::auth
