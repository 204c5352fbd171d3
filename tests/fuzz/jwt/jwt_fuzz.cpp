// Fuzzes the token path: JwtVerifier::verify() on the input as a token (keys of every type,
// every algorithm allowed, so signatures of each kind are attempted), the base64url decoder,
// and the token sources (the input as a query target and as a Sec-WebSocket-Protocol value).
// Beyond "no crash": a decoded base64url value encodes back to its input (canonical form only),
// an accepted token is three segments long, forwarded claims are valid header values, and a
// removed query parameter is gone.
#include "common/auth/base64url.h"
#include "common/auth/jwt.h"
#include "common/auth/token_source.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace wsgate::auth;

void check(bool ok) {
  if (!ok) std::abort();
}

// The secret of the corpus' HS256 tokens, and public keys (the P-256 generator point, an
// arbitrary Ed25519 point, an arbitrary 2048-bit modulus) for the other algorithms.
constexpr std::string_view kJwks =
    R"({"keys":[{"kty":"oct","kid":"hs","k":"ZnV6ei1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZg"},)"
    R"({"kty":"EC","kid":"ec","crv":"P-256",)"
    R"("x":"axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY",)"
    R"("y":"T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU"},)"
    R"({"kty":"OKP","kid":"ed","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},)"
    R"({"kty":"RSA","kid":"rs","e":"AQAB","n":")"
    "xcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxc"
    "XFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXF"
    "xcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxc"
    "XFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxw"
    R"("}]})";

const JwtVerifier& verifier() {
  static const JwtVerifier instance = [] {
    std::string error;
    auto keys = parseKeys(kJwks, error);
    check(keys.has_value());
    JwtRules rules;
    rules.algorithms = {Algorithm::HS256, Algorithm::HS384, Algorithm::HS512, Algorithm::RS256,
                        Algorithm::RS384, Algorithm::RS512, Algorithm::PS256, Algorithm::ES256,
                        Algorithm::ES384, Algorithm::EdDSA};
    rules.issuer = "fuzz";
    rules.audience = "aud";
    rules.leeway_s = 30;
    return JwtVerifier(std::move(*keys), std::move(rules));
  }();
  return instance;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const JwtResult result = verifier().verify(input, 1'800'000'000, {"sub", "role", "n"});
  check(!label(result.failure).empty());
  if (result.failure == Failure::Ok) {
    check(input.size() <= kMaxTokenLength);
    std::size_t dots = 0;
    for (const char c : input)
      dots += c == '.' ? 1 : 0;
    check(dots == 2);
    for (const auto& [name, value] : result.claims) {
      check(!value.empty() && value.find('\r') == std::string::npos &&
            value.find('\n') == std::string::npos);
    }
  }

  if (const auto decoded = decodeBase64Url(input)) check(encodeBase64Url(*decoded) == input);

  const std::string target = "/ws?" + std::string(input);
  const std::string removed = removeQueryParameter(target, "access_token");
  const std::size_t query = removed.find('?');
  check(removed.substr(0, query) == "/ws");
  if (query != std::string::npos) {
    // No parameter of what is left is named access_token ('?' inside the query is data).
    std::string_view rest = std::string_view(removed).substr(query + 1);
    while (true) {
      const std::size_t amp = rest.find('&');
      const std::string_view item = rest.substr(0, amp);
      check(item.substr(0, item.find('=')) != "access_token");
      if (amp == std::string_view::npos) break;
      rest.remove_prefix(amp + 1);
    }
  }
  wsgate::http::HeaderList headers;
  headers.add("Sec-WebSocket-Protocol", std::string(input));
  const std::vector<TokenSource> sources{{SourceKind::Query, "access_token"},
                                         {SourceKind::Subprotocol, ""}};
  if (const auto found = findToken(sources, headers, target)) check(!found->token.empty());
  for (const std::string& protocol : protocolsWithoutToken(input))
    check(!protocol.starts_with(kProtocolPrefix) && !protocol.empty());
  return 0;
}
