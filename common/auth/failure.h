#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace wsgate::auth {

// Why a token was refused (or Ok). Each value has a label (metrics, access log) and a
// description (the 401's error_description and body). Neither ever contains the token.
enum class Failure : uint8_t {
  Ok,
  Missing,             // no token in any configured source
  Malformed,           // not a JWS compact token, bad base64url or JSON, too long or too deep
  AlgorithmNotAllowed, // "alg" not in `algorithms`, "none", or not the type of the chosen key
  UnknownKid,          // "kid" names no loaded key
  BadSignature,        // the signature does not verify with any fitting key
  Expired,             // exp + leeway is in the past
  NotYetValid,         // nbf - leeway is in the future
  WrongIssuer,         // iss differs from `issuer`
  WrongAudience,       // aud (string or array) does not hold `audience`
  UnknownToken,        // bearer: not one of tokens_file
};
inline constexpr std::size_t kFailureCount = 11;

// "ok", "missing", "malformed", "algorithm_not_allowed", ...: bounded label values.
std::string_view label(Failure failure);
// A sentence for the client: "token missing", "token expired", ...
std::string_view describe(Failure failure);

inline constexpr std::array<Failure, kFailureCount> kAllFailures{
    Failure::Ok,          Failure::Missing,
    Failure::Malformed,   Failure::AlgorithmNotAllowed,
    Failure::UnknownKid,  Failure::BadSignature,
    Failure::Expired,     Failure::NotYetValid,
    Failure::WrongIssuer, Failure::WrongAudience,
    Failure::UnknownToken};

} // namespace wsgate::auth
