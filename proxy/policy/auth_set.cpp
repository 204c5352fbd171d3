#include "proxy/policy/auth_set.h"

#include <fstream>
#include <sstream>

namespace wsgate::proxy::policy {
namespace {

// Key and token files are small; a larger one is a mistake (a wrong path).
constexpr std::streamsize kMaxFileSize = std::streamsize{1} << 20;

bool readFile(const std::string& path, std::string& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": cannot open";
    return false;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  out = buffer.str();
  if (static_cast<std::streamsize>(out.size()) > kMaxFileSize) {
    error = path + ": larger than 1 MiB";
    return false;
  }
  return true;
}

bool buildOne(const config::Auth& conf, Authenticator& out, std::string& error) {
  out.config = &conf;
  for (const std::string& text : conf.token_from) {
    if (auto source = auth::parseTokenSource(text)) out.sources.push_back(std::move(*source));
  }
  for (const auto& [claim, header] : conf.forward_claims)
    out.claim_names.push_back(claim);
  std::string text;
  if (conf.type == config::AuthType::Bearer) {
    if (!readFile(conf.tokens_file, text, error)) return false;
    out.bearer = auth::BearerTokens::parse(text, error);
    if (!out.bearer) error = conf.tokens_file + ": " + error;
    return out.bearer.has_value();
  }
  if (!readFile(conf.keys, text, error)) return false;
  auto keys = auth::parseKeys(text, error);
  if (!keys) {
    error = conf.keys + ": " + error;
    return false;
  }
  auth::JwtRules rules;
  for (const std::string& name : conf.algorithms) {
    if (auto algorithm = auth::parseAlgorithm(name)) rules.algorithms.push_back(*algorithm);
  }
  bool usable = false;
  for (const auth::Key& key : keys->keys) {
    for (const auth::Algorithm algorithm : rules.algorithms)
      usable = usable || auth::algorithmFits(algorithm, key.type);
  }
  if (!usable) {
    error = conf.keys + ": no key fits any of the algorithms (HS* need a secret, RS*/PS* an RSA " +
            "key, ES256/ES384 a P-256/P-384 key, EdDSA an Ed25519 key)";
    return false;
  }
  rules.issuer = conf.issuer;
  rules.audience = conf.audience;
  rules.leeway_s = std::chrono::duration_cast<std::chrono::seconds>(conf.leeway).count();
  out.jwt.emplace(std::move(*keys), std::move(rules));
  out.cache = std::make_unique<TokenCache>();
  return true;
}

} // namespace

auth::JwtResult Authenticator::verifyJwt(std::string_view token, int64_t now_s) const {
  if (token.size() > auth::kMaxTokenLength) return {};
  const int64_t leeway_s = std::chrono::duration_cast<std::chrono::seconds>(config->leeway).count();
  const auth::Digest digest = tokenDigest(token);
  if (auto cached = cache->find(digest, now_s, leeway_s)) return std::move(*cached);
  auth::JwtResult result = jwt->verify(token, now_s, claim_names);
  if (result.failure == auth::Failure::Ok) cache->insert(digest, result);
  return result;
}

std::shared_ptr<const AuthSet> buildAuthSet(const config::Config& config, std::string& error) {
  auto set = std::make_shared<AuthSet>();
  for (const auto& [name, conf] : config.auth) {
    Authenticator authenticator;
    if (!buildOne(conf, authenticator, error)) {
      error.insert(0, "auth." + name + ": ");
      return nullptr;
    }
    set->by_name.emplace(name, std::move(authenticator));
  }
  return set;
}

} // namespace wsgate::proxy::policy
