#pragma once

// Where a client's token comes from (`token_from`), and taking it out of a request.

#include "common/http/headers.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::auth {

enum class SourceKind : uint8_t { Header, Query, Cookie, Subprotocol };

struct TokenSource {
  SourceKind kind = SourceKind::Header;
  std::string name; // header, parameter or cookie name; empty for Subprotocol
};

// The Sec-WebSocket-Protocol entry prefix that carries a token: "bearer.<token>".
inline constexpr std::string_view kProtocolPrefix = "bearer.";

// "header:NAME", "query:NAME", "cookie:NAME" or "subprotocol"; nullopt otherwise.
std::optional<TokenSource> parseTokenSource(std::string_view text);

struct FoundToken {
  std::string token;
  const TokenSource* source = nullptr; // one of the sources passed to findToken
};

// The first token found, trying `sources` in order. A header source takes the value after
// "Bearer " (the scheme is required for Authorization, optional for other headers); a query
// source the percent-decoded parameter of `target`; a cookie source the cookie's value; the
// subprotocol source the first offered entry "bearer.<token>". nullopt when none has one.
std::optional<FoundToken> findToken(const std::vector<TokenSource>& sources,
                                    const http::HeaderList& headers, std::string_view target);

// `target` without any query parameter named `name` (a '?' with nothing after it goes too).
std::string removeQueryParameter(std::string_view target, std::string_view name);

// The comma-separated entries of a Sec-WebSocket-Protocol value, trimmed, without the ones
// that carry a token.
std::vector<std::string> protocolsWithoutToken(std::string_view value);

} // namespace wsgate::auth
