#include "common/auth/jwt.h"

#include "common/auth/base64url.h"
#include "common/http/headers.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace wsgate::auth {
namespace {

using Json = nlohmann::json;

// Parses a JSON object no deeper than kMaxJsonDepth; a discarded value otherwise.
Json parseObject(std::string_view text) {
  bool too_deep = false;
  const auto limit = [&too_deep](int depth, Json::parse_event_t /*event*/, Json& /*value*/) {
    if (depth > kMaxJsonDepth) too_deep = true;
    return !too_deep;
  };
  Json doc = Json::parse(text, limit, false);
  if (too_deep || doc.is_discarded() || !doc.is_object()) return Json(Json::value_t::discarded);
  return doc;
}

struct Parts {
  std::string_view header;
  std::string_view payload;
  std::string_view signing_input;
  std::string signature;
};

std::optional<Parts> split(std::string_view token) {
  const std::size_t first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  const std::size_t second = token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  auto signature = decodeBase64Url(token.substr(second + 1));
  if (!signature || signature->empty()) return std::nullopt;
  return Parts{token.substr(0, first), token.substr(first + 1, second - first - 1),
               token.substr(0, second), std::move(*signature)};
}

// A NumericDate claim: absent (nullopt, ok), a number (its value, floored), or malformed.
bool numericDate(const Json& claims, const char* name, std::optional<int64_t>& out) {
  const auto it = claims.find(name);
  if (it == claims.end()) return true;
  if (!it->is_number()) return false;
  const double value = it->get<double>();
  if (!std::isfinite(value) || std::fabs(value) > 1e15) return false;
  out = static_cast<int64_t>(std::floor(value));
  return true;
}

bool audienceMatches(const Json& claims, const std::string& audience) {
  const auto it = claims.find("aud");
  if (it == claims.end()) return false;
  if (it->is_string()) return it->get_ref<const std::string&>() == audience;
  if (!it->is_array()) return false;
  return std::any_of(it->begin(), it->end(), [&audience](const Json& entry) {
    return entry.is_string() && entry.get_ref<const std::string&>() == audience;
  });
}

bool headerSafe(std::string_view value) {
  return !value.empty() && value.size() <= 1024 &&
         std::all_of(value.begin(), value.end(),
                     [](char c) { return http::isFieldValueChar(static_cast<uint8_t>(c)); }) &&
         value.front() != ' ' && value.back() != ' ';
}

void extractClaims(const Json& claims, const std::vector<std::string>& names, JwtResult& result) {
  for (const std::string& name : names) {
    const auto it = claims.find(name);
    if (it == claims.end() || it->is_null()) continue;
    std::string value = it->is_string() ? it->get<std::string>() : it->dump();
    if (headerSafe(value)) result.claims.emplace_back(name, std::move(value));
  }
}

Failure checkClaims(const Json& claims, const JwtRules& rules, int64_t now_s, JwtResult& result) {
  std::optional<int64_t> nbf;
  if (!numericDate(claims, "exp", result.exp) || !numericDate(claims, "nbf", nbf)) {
    return Failure::Malformed;
  }
  if (result.exp && now_s >= *result.exp + rules.leeway_s) return Failure::Expired;
  if (nbf && now_s + rules.leeway_s < *nbf) return Failure::NotYetValid;
  if (!rules.issuer.empty()) {
    const auto iss = claims.find("iss");
    if (iss == claims.end() || !iss->is_string() ||
        iss->get_ref<const std::string&>() != rules.issuer) {
      return Failure::WrongIssuer;
    }
  }
  if (!rules.audience.empty() && !audienceMatches(claims, rules.audience)) {
    return Failure::WrongAudience;
  }
  return Failure::Ok;
}

} // namespace

bool JwtVerifier::allowed(Algorithm algorithm) const {
  return std::find(rules_.algorithms.begin(), rules_.algorithms.end(), algorithm) !=
         rules_.algorithms.end();
}

JwtResult JwtVerifier::verify(std::string_view token, int64_t now_s,
                              const std::vector<std::string>& claim_names) const {
  JwtResult result;
  if (token.empty() || token.size() > kMaxTokenLength) return result;
  auto parts = split(token);
  if (!parts) return result;
  const auto header_text = decodeBase64Url(parts->header);
  const auto payload_text = decodeBase64Url(parts->payload);
  if (!header_text || !payload_text) return result;
  const Json header = parseObject(*header_text);
  if (header.is_discarded() || header.contains("crit")) return result;
  const auto alg_it = header.find("alg");
  if (alg_it == header.end() || !alg_it->is_string()) return result;
  const auto algorithm = parseAlgorithm(alg_it->get_ref<const std::string&>());
  if (!algorithm || !allowed(*algorithm)) {
    result.failure = Failure::AlgorithmNotAllowed;
    return result;
  }
  const auto kid_it = header.find("kid");
  if (kid_it != header.end() && !kid_it->is_string()) return result;
  const std::string* kid =
      kid_it != header.end() ? &kid_it->get_ref<const std::string&>() : nullptr;
  // The key is chosen by kid when the token names one, else every key that fits the algorithm
  // is tried. A key whose type does not fit the algorithm is never used.
  bool found_kid = false;
  bool verified = false;
  bool any_fitting = false;
  for (const Key& key : keys_.keys) {
    if (kid != nullptr && key.kid != *kid) continue;
    found_kid = true;
    if (!algorithmFits(*algorithm, key.type) || (key.alg && *key.alg != *algorithm)) continue;
    any_fitting = true;
    if (verifySignature(*algorithm, key, parts->signing_input, parts->signature)) {
      verified = true;
      break;
    }
  }
  if (kid != nullptr && !found_kid) {
    result.failure = Failure::UnknownKid;
    return result;
  }
  if (!any_fitting) {
    result.failure = Failure::AlgorithmNotAllowed;
    return result;
  }
  if (!verified) {
    result.failure = Failure::BadSignature;
    return result;
  }
  const Json claims = parseObject(*payload_text);
  if (claims.is_discarded()) return result;
  result.failure = checkClaims(claims, rules_, now_s, result);
  if (result.failure == Failure::Ok) extractClaims(claims, claim_names, result);
  return result;
}

} // namespace wsgate::auth
