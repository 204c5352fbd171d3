#pragma once

// Keys and signed tokens for the verifier's tests, made in-process with OpenSSL: a fresh key
// per test run, exported as the PEM or JWK the verifier loads.

#include "common/auth/base64url.h"
#include "common/auth/keys.h"

#include <memory>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <string>

namespace wsgate::auth::testing {

struct PrivateKey {
  std::unique_ptr<EVP_PKEY, EvpKeyFree> key;
  KeyType type = KeyType::Rsa;
};

inline PrivateKey generate(KeyType type) {
  PrivateKey out;
  out.type = type;
  switch (type) {
  case KeyType::Rsa:
    out.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
    break;
  case KeyType::EcP256:
    out.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    break;
  case KeyType::EcP384:
    out.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
    break;
  case KeyType::Ed25519:
    out.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    break;
  case KeyType::Secret:
    break;
  }
  return out;
}

inline std::string publicPem(const PrivateKey& key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key.key.get());
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(length));
  BIO_free(bio);
  return out;
}

inline std::string bnParam(const PrivateKey& key, const char* name, std::size_t pad = 0) {
  BIGNUM* bn = nullptr;
  EVP_PKEY_get_bn_param(key.key.get(), name, &bn);
  std::string bytes(pad != 0 ? pad : static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  BN_free(bn);
  return encodeBase64Url(bytes);
}

// One JWK (a JSON object) for the public half of `key`.
inline std::string jwk(const PrivateKey& key, const std::string& kid) {
  std::string out = "{\"kid\":\"" + kid + "\",";
  switch (key.type) {
  case KeyType::Rsa:
    out += "\"kty\":\"RSA\",\"n\":\"" + bnParam(key, OSSL_PKEY_PARAM_RSA_N) + "\",\"e\":\"" +
           bnParam(key, OSSL_PKEY_PARAM_RSA_E) + "\"}";
    break;
  case KeyType::EcP256:
  case KeyType::EcP384: {
    const std::size_t size = key.type == KeyType::EcP256 ? 32 : 48;
    out += std::string("\"kty\":\"EC\",\"crv\":\"") +
           (key.type == KeyType::EcP256 ? "P-256" : "P-384") + "\",\"x\":\"" +
           bnParam(key, OSSL_PKEY_PARAM_EC_PUB_X, size) + "\",\"y\":\"" +
           bnParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, size) + "\"}";
    break;
  }
  case KeyType::Ed25519: {
    std::string raw(32, '\0');
    std::size_t length = raw.size();
    EVP_PKEY_get_raw_public_key(key.key.get(), reinterpret_cast<unsigned char*>(raw.data()),
                                &length);
    out += "\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" + encodeBase64Url(raw) + "\"}";
    break;
  }
  case KeyType::Secret:
    break;
  }
  return out;
}

inline const EVP_MD* mdOf(std::string_view alg) {
  if (alg.ends_with("256")) return EVP_sha256();
  if (alg.ends_with("384")) return EVP_sha384();
  if (alg.ends_with("512")) return EVP_sha512();
  return nullptr;
}

// The signature over `input` in JOSE form.
inline std::string sign(const PrivateKey& key, std::string_view alg, std::string_view input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  EVP_DigestSignInit(ctx, &pctx, mdOf(alg), nullptr, key.key.get());
  if (alg == "PS256") {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
  }
  std::size_t length = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  EVP_DigestSign(ctx, nullptr, &length, data, input.size());
  std::string sig(length, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &length, data, input.size());
  sig.resize(length);
  EVP_MD_CTX_free(ctx);
  if (alg == "ES256" || alg == "ES384") {
    const std::size_t half = alg == "ES256" ? 32 : 48;
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* ecdsa = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::string raw(2 * half, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), reinterpret_cast<unsigned char*>(raw.data()),
                 static_cast<int>(half));
    BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), reinterpret_cast<unsigned char*>(raw.data() + half),
                 static_cast<int>(half));
    ECDSA_SIG_free(ecdsa);
    return raw;
  }
  return sig;
}

inline std::string hmac(std::string_view secret, std::string_view alg, std::string_view input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(mdOf(alg), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &length);
  return std::string(reinterpret_cast<char*>(mac), length);
}

inline std::string encode(std::string_view header, std::string_view claims) {
  return encodeBase64Url(header) + "." + encodeBase64Url(claims);
}

} // namespace wsgate::auth::testing
