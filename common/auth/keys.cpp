#include "common/auth/keys.h"

#include "common/auth/base64url.h"

#include <array>
#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <utility>

namespace wsgate::auth {
namespace {

using Json = nlohmann::json;

constexpr std::array<std::pair<std::string_view, Algorithm>, 10> kAlgorithms{{
    {"HS256", Algorithm::HS256},
    {"HS384", Algorithm::HS384},
    {"HS512", Algorithm::HS512},
    {"RS256", Algorithm::RS256},
    {"RS384", Algorithm::RS384},
    {"RS512", Algorithm::RS512},
    {"PS256", Algorithm::PS256},
    {"ES256", Algorithm::ES256},
    {"ES384", Algorithm::ES384},
    {"EdDSA", Algorithm::EdDSA},
}};

constexpr std::size_t kMinSecret = 16;

struct BnFree {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;

std::unique_ptr<EVP_PKEY, EvpKeyFree> fromParams(const char* type, OSSL_PARAM_BLD* builder) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(builder);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* key = nullptr;
  if (params != nullptr && ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1) {
    if (EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) key = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return std::unique_ptr<EVP_PKEY, EvpKeyFree>(key);
}

// A base64url member of a JWK, or nullopt.
std::optional<std::string> member(const Json& jwk, const char* name) {
  const auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) return std::nullopt;
  return decodeBase64Url(it->get_ref<const std::string&>());
}

bool rsaKey(const Json& jwk, Key& key) {
  const auto n = member(jwk, "n");
  const auto e = member(jwk, "e");
  if (!n || !e || n->empty() || e->empty()) return false;
  Bn bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()), static_cast<int>(n->size()),
                    nullptr));
  Bn bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()), static_cast<int>(e->size()),
                    nullptr));
  OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
  if (builder == nullptr || !bn_n || !bn_e) {
    OSSL_PARAM_BLD_free(builder);
    return false;
  }
  OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_N, bn_n.get());
  OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_E, bn_e.get());
  key.pkey = fromParams("RSA", builder);
  OSSL_PARAM_BLD_free(builder);
  key.type = KeyType::Rsa;
  return key.pkey != nullptr && EVP_PKEY_get_bits(key.pkey.get()) >= 2048;
}

bool ecKey(const Json& jwk, Key& key) {
  const auto crv = jwk.find("crv");
  if (crv == jwk.end() || !crv->is_string()) return false;
  const auto& curve = crv->get_ref<const std::string&>();
  std::size_t size = 0;
  const char* group = nullptr;
  if (curve == "P-256") {
    size = 32;
    group = SN_X9_62_prime256v1;
    key.type = KeyType::EcP256;
  } else if (curve == "P-384") {
    size = 48;
    group = SN_secp384r1;
    key.type = KeyType::EcP384;
  } else {
    return false;
  }
  const auto x = member(jwk, "x");
  const auto y = member(jwk, "y");
  if (!x || !y || x->size() != size || y->size() != size) return false;
  std::string point = "\x04" + *x + *y; // uncompressed form
  OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
  if (builder == nullptr) return false;
  OSSL_PARAM_BLD_push_utf8_string(builder, OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
  OSSL_PARAM_BLD_push_octet_string(builder, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  key.pkey = fromParams("EC", builder);
  OSSL_PARAM_BLD_free(builder);
  return key.pkey != nullptr;
}

bool okpKey(const Json& jwk, Key& key) {
  const auto crv = jwk.find("crv");
  if (crv == jwk.end() || !crv->is_string() || crv->get_ref<const std::string&>() != "Ed25519") {
    return false;
  }
  const auto x = member(jwk, "x");
  if (!x || x->size() != 32) return false;
  key.type = KeyType::Ed25519;
  key.pkey.reset(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x->data()), x->size()));
  return key.pkey != nullptr;
}

bool octKey(const Json& jwk, Key& key) {
  const auto k = member(jwk, "k");
  if (!k || k->size() < kMinSecret) return false;
  key.type = KeyType::Secret;
  key.secret = *k;
  return true;
}

bool jwkKey(const Json& jwk, Key& key, std::string& error, std::size_t index) {
  const std::string where = "JWKS key " + std::to_string(index);
  if (!jwk.is_object()) {
    error = where + " is not an object";
    return false;
  }
  const auto kty = jwk.find("kty");
  const auto kid = jwk.find("kid");
  const auto alg = jwk.find("alg");
  if (kid != jwk.end() && kid->is_string()) key.kid = kid->get<std::string>();
  if (alg != jwk.end() && alg->is_string()) {
    key.alg = parseAlgorithm(alg->get_ref<const std::string&>());
    if (!key.alg) {
      error = where + ": unsupported \"alg\" " + alg->dump();
      return false;
    }
  }
  const std::string type = kty != jwk.end() && kty->is_string() ? kty->get<std::string>() : "";
  bool ok = false;
  if (type == "RSA") {
    ok = rsaKey(jwk, key);
  } else if (type == "EC") {
    ok = ecKey(jwk, key);
  } else if (type == "OKP") {
    ok = okpKey(jwk, key);
  } else if (type == "oct") {
    ok = octKey(jwk, key);
  } else {
    error = where + ": unsupported \"kty\" (RSA, EC, OKP or oct)";
    return false;
  }
  if (!ok) {
    error = where + " (kty " + type + "): missing or invalid key members (RSA needs n, e and " +
            "2048 bits or more; EC crv P-256/P-384 with x, y; OKP crv Ed25519 with x; oct k of " +
            "16 bytes or more)";
    return false;
  }
  if (key.alg && !algorithmFits(*key.alg, key.type)) {
    error = where + ": \"alg\" " + std::string(toString(*key.alg)) + " does not fit its kty";
    return false;
  }
  return true;
}

std::optional<KeySet> parseJwks(std::string_view text, std::string& error) {
  const Json doc = Json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array()) {
    error = "not a JWKS document (a JSON object with a \"keys\" array)";
    return std::nullopt;
  }
  const Json& keys = doc["keys"];
  if (keys.empty() || keys.size() > kMaxKeys) {
    error = "a JWKS must hold 1 to " + std::to_string(kMaxKeys) + " keys";
    return std::nullopt;
  }
  KeySet set;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    Key key;
    if (!jwkKey(keys[i], key, error, i)) return std::nullopt;
    for (const Key& other : set.keys) {
      if (!key.kid.empty() && other.kid == key.kid) {
        error = "JWKS key " + std::to_string(i) + ": kid \"" + key.kid + "\" appears twice";
        return std::nullopt;
      }
    }
    set.keys.push_back(std::move(key));
  }
  return set;
}

std::optional<KeySet> parsePem(std::string_view text, std::string& error) {
  BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
  EVP_PKEY* pkey = bio != nullptr ? PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  Key key;
  key.pkey.reset(pkey);
  if (pkey == nullptr) {
    error = "not a PEM public key (\"-----BEGIN PUBLIC KEY-----\"; RSA, EC P-256/P-384, Ed25519)";
    return std::nullopt;
  }
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    key.type = KeyType::Rsa;
    if (EVP_PKEY_get_bits(pkey) < 2048) {
      error = "RSA keys need 2048 bits or more";
      return std::nullopt;
    }
  } else if (EVP_PKEY_is_a(pkey, "ED25519")) {
    key.type = KeyType::Ed25519;
  } else if (EVP_PKEY_is_a(pkey, "EC")) {
    std::array<char, 64> group{};
    std::size_t length = 0;
    EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(),
                                   &length);
    const std::string_view name(group.data(), length);
    if (name == SN_X9_62_prime256v1) {
      key.type = KeyType::EcP256;
    } else if (name == SN_secp384r1) {
      key.type = KeyType::EcP384;
    } else {
      error = "EC curve " + std::string(name) + " is not supported (P-256, P-384)";
      return std::nullopt;
    }
  } else {
    error = "unsupported public key type (RSA, EC P-256/P-384, Ed25519)";
    return std::nullopt;
  }
  KeySet set;
  set.keys.push_back(std::move(key));
  return set;
}

} // namespace

void EvpKeyFree::operator()(EVP_PKEY* key) const {
  EVP_PKEY_free(key);
}

std::optional<Algorithm> parseAlgorithm(std::string_view name) {
  for (const auto& [text, algorithm] : kAlgorithms) {
    if (text == name) return algorithm;
  }
  return std::nullopt;
}

std::string_view toString(Algorithm algorithm) {
  for (const auto& [text, value] : kAlgorithms) {
    if (value == algorithm) return text;
  }
  return "?";
}

bool algorithmFits(Algorithm algorithm, KeyType type) {
  switch (algorithm) {
  case Algorithm::HS256:
  case Algorithm::HS384:
  case Algorithm::HS512:
    return type == KeyType::Secret;
  case Algorithm::RS256:
  case Algorithm::RS384:
  case Algorithm::RS512:
  case Algorithm::PS256:
    return type == KeyType::Rsa;
  case Algorithm::ES256:
    return type == KeyType::EcP256;
  case Algorithm::ES384:
    return type == KeyType::EcP384;
  case Algorithm::EdDSA:
    return type == KeyType::Ed25519;
  }
  return false;
}

std::optional<KeySet> parseKeys(std::string_view text, std::string& error) {
  struct ClearErrors {
    ~ClearErrors() { ERR_clear_error(); }
  } clear;
  const std::size_t start = text.find_first_not_of(" \t\r\n");
  const std::string_view body = start == std::string_view::npos ? "" : text.substr(start);
  if (body.starts_with("{")) return parseJwks(body, error);
  if (body.starts_with("-----BEGIN")) return parsePem(body, error);
  std::string_view secret = text;
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r'))
    secret.remove_suffix(1);
  if (secret.size() < kMinSecret) {
    error = "neither a JWKS, a PEM public key, nor an HMAC secret of 16 bytes or more";
    return std::nullopt;
  }
  KeySet set;
  Key key;
  key.type = KeyType::Secret;
  key.secret.assign(secret);
  set.keys.push_back(std::move(key));
  return set;
}

} // namespace wsgate::auth
