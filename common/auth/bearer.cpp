#include "common/auth/bearer.h"

#include "common/auth/jwt.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace wsgate::auth {
namespace {

Digest digestOf(std::string_view token) {
  Digest digest{};
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest.data());
  return digest;
}

} // namespace

std::optional<BearerTokens> BearerTokens::parse(std::string_view text, std::string& error) {
  BearerTokens tokens;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
      line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    if (line.size() > kMaxTokenLength) {
      error = "a token is longer than " + std::to_string(kMaxTokenLength) + " bytes";
      return std::nullopt;
    }
    tokens.digests_.push_back(digestOf(line));
  }
  if (tokens.digests_.empty()) {
    error = "holds no token (one per line; '#' starts a comment)";
    return std::nullopt;
  }
  return tokens;
}

bool BearerTokens::accepts(std::string_view token) const {
  if (token.empty() || token.size() > kMaxTokenLength) return false;
  const Digest presented = digestOf(token);
  int matches = 0;
  for (const Digest& digest : digests_) {
    matches |= static_cast<int>(CRYPTO_memcmp(digest.data(), presented.data(), digest.size()) == 0);
  }
  return matches != 0;
}

} // namespace wsgate::auth
