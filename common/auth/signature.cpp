// Signature checks with OpenSSL EVP for every algorithm JwtVerifier accepts.
#include "common/auth/jwt.h"

#include <array>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

namespace wsgate::auth {
namespace {

const EVP_MD* digestOf(Algorithm algorithm) {
  switch (algorithm) {
  case Algorithm::HS256:
  case Algorithm::RS256:
  case Algorithm::PS256:
  case Algorithm::ES256:
    return EVP_sha256();
  case Algorithm::HS384:
  case Algorithm::RS384:
  case Algorithm::ES384:
    return EVP_sha384();
  case Algorithm::HS512:
  case Algorithm::RS512:
    return EVP_sha512();
  case Algorithm::EdDSA:
    return nullptr;
  }
  return nullptr;
}

bool verifyHmac(const EVP_MD* md, const std::string& secret, std::string_view input,
                std::string_view signature) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  if (HMAC(md, secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac.data(),
           &length) == nullptr) {
    return false;
  }
  // The length is public (it follows from the algorithm); the bytes are compared in constant
  // time.
  return signature.size() == length && CRYPTO_memcmp(mac.data(), signature.data(), length) == 0;
}

// JOSE's r||s (each `half` bytes) as the DER ECDSA-Sig-Value OpenSSL verifies.
std::optional<std::vector<unsigned char>> ecdsaDer(std::string_view signature, std::size_t half) {
  if (signature.size() != 2 * half) return std::nullopt;
  const auto* bytes = reinterpret_cast<const unsigned char*>(signature.data());
  BIGNUM* r = BN_bin2bn(bytes, static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(bytes + half, static_cast<int>(half), nullptr);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  if (r == nullptr || s == nullptr || sig == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  const int length = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig); // owns r and s
  if (length <= 0) return std::nullopt;
  std::vector<unsigned char> out(der, der + length);
  OPENSSL_free(der);
  return out;
}

bool verifyPublic(Algorithm algorithm, EVP_PKEY* pkey, std::string_view input,
                  std::string_view signature) {
  std::vector<unsigned char> der;
  const auto* sig = reinterpret_cast<const unsigned char*>(signature.data());
  std::size_t sig_length = signature.size();
  if (algorithm == Algorithm::ES256 || algorithm == Algorithm::ES384) {
    auto converted = ecdsaDer(signature, algorithm == Algorithm::ES256 ? 32 : 48);
    if (!converted) return false;
    der = std::move(*converted);
    sig = der.data();
    sig_length = der.size();
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok =
      ctx != nullptr && EVP_DigestVerifyInit(ctx, &pctx, digestOf(algorithm), nullptr, pkey) == 1;
  if (ok && algorithm == Algorithm::PS256) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  }
  ok = ok &&
       EVP_DigestVerify(ctx, sig, sig_length, reinterpret_cast<const unsigned char*>(input.data()),
                        input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  // A failed verification leaves errors on this thread's queue, where the TLS code of the
  // same worker would read them as its own.
  if (!ok) ERR_clear_error();
  return ok;
}

} // namespace

bool verifySignature(Algorithm algorithm, const Key& key, std::string_view input,
                     std::string_view signature) {
  if (!algorithmFits(algorithm, key.type)) return false;
  if (key.alg && *key.alg != algorithm) return false;
  if (key.type == KeyType::Secret) {
    return verifyHmac(digestOf(algorithm), key.secret, input, signature);
  }
  if (!key.pkey) return false;
  return verifyPublic(algorithm, key.pkey.get(), input, signature);
}

} // namespace wsgate::auth
