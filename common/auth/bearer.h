#pragma once

// Opaque bearer tokens checked against a list: only SHA-256 digests of the accepted tokens
// are kept, and a presented token's digest is compared with every one in constant time.

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::auth {

using Digest = std::array<unsigned char, 32>;

class BearerTokens {
public:
  // One token per line of `text`; blank lines and lines starting with '#' are skipped, spaces
  // around a token are not part of it. nullopt with `error` set when no token is left.
  static std::optional<BearerTokens> parse(std::string_view text, std::string& error);

  // True when `token` is one of the list. Takes the same time whichever entry matches.
  bool accepts(std::string_view token) const;
  std::size_t size() const { return digests_.size(); }

private:
  std::vector<Digest> digests_;
};

} // namespace wsgate::auth
