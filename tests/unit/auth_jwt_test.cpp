// The JWS verifier: every algorithm with keys made for this run, every failure reason, the
// HMAC-with-a-public-key confusion, kid selection and claim checks.
#include "auth_test_keys.h"
#include "common/auth/jwt.h"

#include <gtest/gtest.h>

namespace wsgate::auth {
namespace {

using testing::encode;
using testing::generate;
using testing::PrivateKey;

constexpr int64_t kNow = 1'800'000'000;

KeySet load(const std::string& text) {
  std::string error;
  auto keys = parseKeys(text, error);
  EXPECT_TRUE(keys.has_value()) << error;
  return keys ? std::move(*keys) : KeySet{};
}

JwtRules rules(std::vector<Algorithm> algorithms) {
  JwtRules r;
  r.algorithms = std::move(algorithms);
  r.leeway_s = 0;
  return r;
}

std::string claims(int64_t exp = kNow + 60) {
  return "{\"sub\":\"alice\",\"exp\":" + std::to_string(exp) + "}";
}

std::string signed_(const PrivateKey& key, const std::string& alg, const std::string& body,
                    const std::string& kid = "") {
  const std::string header =
      "{\"alg\":\"" + alg + "\"" + (kid.empty() ? "" : ",\"kid\":\"" + kid + "\"") + "}";
  const std::string input = encode(header, body);
  return input + "." + encodeBase64Url(testing::sign(key, alg, input));
}

std::string hmacToken(const std::string& secret, const std::string& alg, const std::string& body,
                      const std::string& header_extra = "") {
  const std::string input = encode("{\"alg\":\"" + alg + "\"" + header_extra + "}", body);
  return input + "." + encodeBase64Url(testing::hmac(secret, alg, input));
}

struct AlgCase {
  const char* alg;
  KeyType type;
};

class EveryAlgorithm : public ::testing::TestWithParam<AlgCase> {};

TEST_P(EveryAlgorithm, VerifiesWithPemAndJwkAndRefusesATamperedToken) {
  const AlgCase c = GetParam();
  const PrivateKey key = generate(c.type);
  const Algorithm alg = *parseAlgorithm(c.alg);
  for (const std::string& text :
       {testing::publicPem(key), "{\"keys\":[" + testing::jwk(key, "k1") + "]}"}) {
    const JwtVerifier verifier(load(text), rules({alg}));
    const std::string token = signed_(key, c.alg, claims());
    const JwtResult ok = verifier.verify(token, kNow, {"sub"});
    EXPECT_EQ(ok.failure, Failure::Ok) << c.alg;
    EXPECT_EQ(ok.exp, kNow + 60);
    ASSERT_EQ(ok.claims.size(), 1U);
    EXPECT_EQ(ok.claims[0].second, "alice");
    // Another payload under the same signature.
    const std::size_t dot = token.find('.');
    const std::string forged = token.substr(0, dot + 1) + encodeBase64Url("{\"sub\":\"mallory\"}") +
                               token.substr(token.rfind('.'));
    EXPECT_EQ(verifier.verify(forged, kNow, {}).failure, Failure::BadSignature) << c.alg;
    // A different key of the same type.
    const PrivateKey other = generate(c.type);
    EXPECT_EQ(verifier.verify(signed_(other, c.alg, claims()), kNow, {}).failure,
              Failure::BadSignature);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Jwt, EveryAlgorithm,
    ::testing::Values(AlgCase{"RS256", KeyType::Rsa}, AlgCase{"RS384", KeyType::Rsa},
                      AlgCase{"RS512", KeyType::Rsa}, AlgCase{"PS256", KeyType::Rsa},
                      AlgCase{"ES256", KeyType::EcP256}, AlgCase{"ES384", KeyType::EcP384},
                      AlgCase{"EdDSA", KeyType::Ed25519}),
    [](const ::testing::TestParamInfo<AlgCase>& param_info) {
      return std::string(param_info.param.alg);
    });

TEST(Jwt, HmacAlgorithmsWithASecret) {
  const std::string secret = "0123456789abcdef0123456789abcdef";
  for (const char* alg : {"HS256", "HS384", "HS512"}) {
    const JwtVerifier verifier(load(secret + "\n"), rules({*parseAlgorithm(alg)}));
    EXPECT_EQ(verifier.verify(hmacToken(secret, alg, claims()), kNow, {}).failure, Failure::Ok);
    EXPECT_EQ(verifier.verify(hmacToken(secret + "x", alg, claims()), kNow, {}).failure,
              Failure::BadSignature);
  }
}

TEST(Jwt, HmacSignedWithThePublicKeyPemIsRefused) {
  const PrivateKey rsa = generate(KeyType::Rsa);
  const std::string pem = testing::publicPem(rsa);
  // Even with HS256 in the allow-list, the PEM is an RSA key, never an HMAC secret.
  const JwtVerifier verifier(load(pem), rules({Algorithm::RS256, Algorithm::HS256}));
  EXPECT_EQ(verifier.verify(hmacToken(pem, "HS256", claims()), kNow, {}).failure,
            Failure::AlgorithmNotAllowed);
  const JwtVerifier strict(load(pem), rules({Algorithm::RS256}));
  EXPECT_EQ(strict.verify(hmacToken(pem, "HS256", claims()), kNow, {}).failure,
            Failure::AlgorithmNotAllowed);
}

TEST(Jwt, NoneAndUnknownAlgorithmsAreRefused) {
  const PrivateKey rsa = generate(KeyType::Rsa);
  const JwtVerifier verifier(load(testing::publicPem(rsa)), rules({Algorithm::RS256}));
  const std::string none = encode("{\"alg\":\"none\"}", claims()) + ".";
  EXPECT_EQ(verifier.verify(none, kNow, {}).failure, Failure::Malformed); // empty signature
  const std::string none_sig = encode("{\"alg\":\"none\"}", claims()) + ".AAAA";
  EXPECT_EQ(verifier.verify(none_sig, kNow, {}).failure, Failure::AlgorithmNotAllowed);
  EXPECT_EQ(verifier.verify(signed_(rsa, "RS384", claims()), kNow, {}).failure,
            Failure::AlgorithmNotAllowed);
  EXPECT_FALSE(parseAlgorithm("none").has_value());
}

TEST(Jwt, KidChoosesTheKey) {
  const PrivateKey a = generate(KeyType::EcP256);
  const PrivateKey b = generate(KeyType::Rsa);
  const JwtVerifier verifier(
      load("{\"keys\":[" + testing::jwk(a, "a") + "," + testing::jwk(b, "b") + "]}"),
      rules({Algorithm::ES256, Algorithm::RS256}));
  EXPECT_EQ(verifier.verify(signed_(a, "ES256", claims(), "a"), kNow, {}).failure, Failure::Ok);
  EXPECT_EQ(verifier.verify(signed_(b, "RS256", claims(), "b"), kNow, {}).failure, Failure::Ok);
  EXPECT_EQ(verifier.verify(signed_(b, "RS256", claims()), kNow, {}).failure, Failure::Ok);
  EXPECT_EQ(verifier.verify(signed_(a, "ES256", claims(), "c"), kNow, {}).failure,
            Failure::UnknownKid);
  // kid "a" is an EC key: an RS256 token naming it cannot be verified with it.
  EXPECT_EQ(verifier.verify(signed_(b, "RS256", claims(), "a"), kNow, {}).failure,
            Failure::AlgorithmNotAllowed);
  EXPECT_EQ(verifier.verify(signed_(a, "ES256", claims(), "b"), kNow, {}).failure,
            Failure::AlgorithmNotAllowed);
}

TEST(Jwt, TimeAndIssuerAndAudience) {
  const std::string secret = "0123456789abcdef0123456789abcdef";
  JwtRules r = rules({Algorithm::HS256});
  r.issuer = "https://issuer";
  r.audience = "chat";
  r.leeway_s = 10;
  const JwtVerifier verifier(load(secret), r);
  const auto check = [&](const std::string& body) {
    return verifier.verify(hmacToken(secret, "HS256", body), kNow, {}).failure;
  };
  const std::string good = R"("iss":"https://issuer","aud":"chat")";
  EXPECT_EQ(check("{" + good + ",\"exp\":" + std::to_string(kNow + 1) + "}"), Failure::Ok);
  EXPECT_EQ(check("{" + good + ",\"exp\":" + std::to_string(kNow - 5) + "}"), Failure::Ok);
  EXPECT_EQ(check("{" + good + ",\"exp\":" + std::to_string(kNow - 10) + "}"), Failure::Expired);
  EXPECT_EQ(check("{" + good + ",\"nbf\":" + std::to_string(kNow + 5) + "}"), Failure::Ok);
  EXPECT_EQ(check("{" + good + ",\"nbf\":" + std::to_string(kNow + 11) + "}"),
            Failure::NotYetValid);
  EXPECT_EQ(check(R"({"iss":"https://other","aud":"chat"})"), Failure::WrongIssuer);
  EXPECT_EQ(check(R"({"aud":"chat"})"), Failure::WrongIssuer);
  EXPECT_EQ(check(R"({"iss":"https://issuer","aud":"other"})"), Failure::WrongAudience);
  EXPECT_EQ(check(R"({"iss":"https://issuer","aud":["x","chat"]})"), Failure::Ok);
  EXPECT_EQ(check(R"({"iss":"https://issuer","aud":["x","y"]})"), Failure::WrongAudience);
  EXPECT_EQ(check(R"({"iss":"https://issuer"})"), Failure::WrongAudience);
  EXPECT_EQ(check("{" + good + R"(,"exp":"tomorrow"})"), Failure::Malformed);
}

TEST(Jwt, MalformedTokens) {
  const std::string secret = "0123456789abcdef0123456789abcdef";
  const JwtVerifier verifier(load(secret), rules({Algorithm::HS256}));
  const auto check = [&](const std::string& token) {
    return verifier.verify(token, kNow, {}).failure;
  };
  EXPECT_EQ(check(""), Failure::Malformed);
  EXPECT_EQ(check("abc"), Failure::Malformed);
  EXPECT_EQ(check("a.b"), Failure::Malformed);
  EXPECT_EQ(check("a.b.c.d"), Failure::Malformed);
  EXPECT_EQ(check("!!!.e30.AAAA"), Failure::Malformed);
  EXPECT_EQ(check(encode("[1]", "{}") + ".AAAA"), Failure::Malformed);
  EXPECT_EQ(check(encode("{\"alg\":5}", "{}") + ".AAAA"), Failure::Malformed);
  EXPECT_EQ(check(hmacToken(secret, "HS256", "{}", ",\"crit\":[\"x\"]")), Failure::Malformed);
  EXPECT_EQ(check(hmacToken(secret, "HS256", "[]")), Failure::Malformed);
  EXPECT_EQ(check(hmacToken(secret, "HS256", "{\"a\":")), Failure::Malformed);
  std::string deep = "{\"a\":";
  for (int i = 0; i < 40; ++i)
    deep += "[";
  for (int i = 0; i < 40; ++i)
    deep += "]";
  EXPECT_EQ(check(hmacToken(secret, "HS256", deep + "}")), Failure::Malformed);
  EXPECT_EQ(check(hmacToken(secret, "HS256", "{\"pad\":\"" + std::string(9000, 'x') + "\"}")),
            Failure::Malformed);
}

TEST(Jwt, ClaimsThatCannotBeHeaderValuesAreNotForwarded) {
  const std::string secret = "0123456789abcdef0123456789abcdef";
  const JwtVerifier verifier(load(secret), rules({Algorithm::HS256}));
  const JwtResult result = verifier.verify(
      hmacToken(secret, "HS256", R"({"sub":"a\r\nX-Evil: 1","role":["admin"],"n":7})"), kNow,
      {"sub", "role", "n", "absent"});
  ASSERT_EQ(result.failure, Failure::Ok);
  ASSERT_EQ(result.claims.size(), 2U);
  EXPECT_EQ(result.claims[0], std::make_pair(std::string("role"), std::string("[\"admin\"]")));
  EXPECT_EQ(result.claims[1], std::make_pair(std::string("n"), std::string("7")));
}

TEST(JwtKeys, RefusesBadKeyFiles) {
  std::string error;
  EXPECT_FALSE(parseKeys("short", error));
  EXPECT_FALSE(parseKeys("{\"keys\":[]}", error));
  EXPECT_FALSE(parseKeys("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}", error));
  EXPECT_FALSE(parseKeys(
      "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}]}", error));
  EXPECT_FALSE(parseKeys("{\"keys\":[{\"kty\":\"XX\"}]}", error));
  EXPECT_FALSE(parseKeys("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", error));
  const PrivateKey a = generate(KeyType::Ed25519);
  const std::string twice =
      "{\"keys\":[" + testing::jwk(a, "x") + "," + testing::jwk(a, "x") + "]}";
  EXPECT_FALSE(parseKeys(twice, error));
  EXPECT_NE(error.find("appears twice"), std::string::npos);
}

TEST(Base64Url, RoundTripsAndRejectsNonCanonical) {
  for (const std::string text : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(decodeBase64Url(encodeBase64Url(text)), text);
  }
  EXPECT_FALSE(decodeBase64Url("Zm9v=").has_value());
  EXPECT_FALSE(decodeBase64Url("Z").has_value());
  EXPECT_FALSE(decodeBase64Url("Zh").has_value()); // unused bits set
  EXPECT_FALSE(decodeBase64Url("Zm+v").has_value());
}

} // namespace
} // namespace wsgate::auth
