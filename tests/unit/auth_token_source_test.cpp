// Token sources, query and subprotocol removal, and bearer token lists.
#include "common/auth/bearer.h"
#include "common/auth/token_source.h"

#include <gtest/gtest.h>

namespace wsgate::auth {
namespace {

std::vector<TokenSource> sources(std::initializer_list<const char*> texts) {
  std::vector<TokenSource> out;
  for (const char* text : texts)
    out.push_back(*parseTokenSource(text));
  return out;
}

TEST(TokenSource, ParsesOnlyKnownForms) {
  EXPECT_TRUE(parseTokenSource("header:Authorization"));
  EXPECT_TRUE(parseTokenSource("query:access_token"));
  EXPECT_TRUE(parseTokenSource("cookie:token"));
  EXPECT_TRUE(parseTokenSource("subprotocol"));
  EXPECT_FALSE(parseTokenSource("header:"));
  EXPECT_FALSE(parseTokenSource("body:x"));
  EXPECT_FALSE(parseTokenSource("query:a b"));
}

TEST(TokenSource, FirstSourceInOrderWins) {
  http::HeaderList headers;
  headers.add("Authorization", "Bearer from-header");
  headers.add("Cookie", "a=1; token=\"from-cookie\"");
  headers.add("Sec-WebSocket-Protocol", "chat, bearer.from-protocol");
  const auto all = sources({"query:t", "header:Authorization", "cookie:token", "subprotocol"});
  EXPECT_EQ(findToken(all, headers, "/ws?x=1&t=from%2Dquery")->token, "from-query");
  EXPECT_EQ(findToken(all, headers, "/ws")->token, "from-header");
  const auto later = sources({"cookie:token", "subprotocol"});
  EXPECT_EQ(findToken(later, headers, "/ws")->token, "from-cookie");
  EXPECT_EQ(findToken(sources({"subprotocol"}), headers, "/")->token, "from-protocol");
  http::HeaderList basic;
  basic.add("Authorization", "Basic dXNlcjpwYXNz");
  EXPECT_FALSE(findToken(sources({"header:Authorization"}), basic, "/"));
}

TEST(TokenSource, RemovesTheQueryParameterAndTheProtocolEntry) {
  EXPECT_EQ(removeQueryParameter("/ws?access_token=abc", "access_token"), "/ws");
  EXPECT_EQ(removeQueryParameter("/ws?a=1&access_token=abc&b", "access_token"), "/ws?a=1&b");
  EXPECT_EQ(removeQueryParameter("/ws?access_token=1&access_token=2", "access_token"), "/ws");
  EXPECT_EQ(removeQueryParameter("/ws?access_tokenX=1", "access_token"), "/ws?access_tokenX=1");
  EXPECT_EQ(protocolsWithoutToken("chat, bearer.abc ,v2"),
            (std::vector<std::string>{"chat", "v2"}));
}

TEST(Bearer, AcceptsListedTokensOnly) {
  std::string error;
  const auto tokens = BearerTokens::parse("# comment\n\n  alpha-token  \r\nbeta\n", error);
  ASSERT_TRUE(tokens) << error;
  EXPECT_EQ(tokens->size(), 2U);
  EXPECT_TRUE(tokens->accepts("alpha-token"));
  EXPECT_TRUE(tokens->accepts("beta"));
  EXPECT_FALSE(tokens->accepts("alpha"));
  EXPECT_FALSE(tokens->accepts(""));
  EXPECT_FALSE(BearerTokens::parse("# nothing\n", error));
}

} // namespace
} // namespace wsgate::auth
