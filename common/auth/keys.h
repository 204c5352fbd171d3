#pragma once

// Verification keys for JWS tokens, built from bytes already read (no file I/O here): a JWKS
// document, a PEM public key, or an HMAC secret.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

typedef struct evp_pkey_st EVP_PKEY; // NOLINT(modernize-use-using): OpenSSL's own spelling

namespace wsgate::auth {

// The JWS algorithms wsgate verifies. "none" is not one of them.
enum class Algorithm : uint8_t {
  HS256,
  HS384,
  HS512,
  RS256,
  RS384,
  RS512,
  PS256,
  ES256,
  ES384,
  EdDSA
};

// "HS256" -> HS256 ...; nullopt for anything else, "none" included.
std::optional<Algorithm> parseAlgorithm(std::string_view name);
std::string_view toString(Algorithm algorithm);

// What a key is; an algorithm is usable only with the one type it needs (algorithmFits).
enum class KeyType : uint8_t { Secret, Rsa, EcP256, EcP384, Ed25519 };
bool algorithmFits(Algorithm algorithm, KeyType type);

struct EvpKeyFree {
  void operator()(EVP_PKEY* key) const;
};

struct Key {
  std::string kid; // "" when the key has none
  KeyType type = KeyType::Secret;
  std::optional<Algorithm> alg;               // a JWK's "alg": the only algorithm it may verify
  std::string secret;                         // Secret only
  std::unique_ptr<EVP_PKEY, EvpKeyFree> pkey; // every other type
};

// At most this many keys in one JWKS: a token without kid is tried against every fitting key.
inline constexpr std::size_t kMaxKeys = 32;

struct KeySet {
  std::vector<Key> keys;
};

// Parses `text` as what it looks like: a JSON object with "keys" (JWKS: RSA n/e, EC
// P-256/P-384 x/y, OKP Ed25519 x, oct k), a PEM public key ("-----BEGIN PUBLIC KEY-----", RSA,
// EC or Ed25519), or else an HMAC secret (the bytes, without trailing CR/LF; at least 16).
// On failure returns nullopt and sets `error` (which never quotes key material).
std::optional<KeySet> parseKeys(std::string_view text, std::string& error);

} // namespace wsgate::auth
