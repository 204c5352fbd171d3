#include "common/http/headers.h"

#include <gtest/gtest.h>

namespace wsgate::http {
namespace {

TEST(HttpHeaders, EqualsIgnoreCase) {
  EXPECT_TRUE(equalsIgnoreCase("Sec-WebSocket-Key", "sec-websocket-key"));
  EXPECT_TRUE(equalsIgnoreCase("", ""));
  EXPECT_FALSE(equalsIgnoreCase("Upgrade", "Upgrades"));
  EXPECT_FALSE(equalsIgnoreCase("a", "b"));
  // Only ASCII letters fold: '@' and '`' are not the case pair of anything.
  EXPECT_FALSE(equalsIgnoreCase("@", "`"));
}

TEST(HttpHeaders, Tokens) {
  EXPECT_TRUE(isToken("Sec-WebSocket-Key"));
  EXPECT_TRUE(isToken("x!#$%&'*+-.^_`|~09"));
  EXPECT_FALSE(isToken(""));
  EXPECT_FALSE(isToken("Host "));
  EXPECT_FALSE(isToken("a:b"));
  EXPECT_FALSE(isToken("a\"b"));
}

TEST(HttpHeaders, ListHasToken) {
  EXPECT_TRUE(listHasToken("keep-alive, Upgrade", "upgrade"));
  EXPECT_TRUE(listHasToken("upgrade", "Upgrade"));
  EXPECT_TRUE(listHasToken(" \tUpgrade\t ,x", "upgrade"));
  EXPECT_TRUE(listHasToken("a,,upgrade", "upgrade"));
  EXPECT_FALSE(listHasToken("upgrader", "upgrade"));
  EXPECT_FALSE(listHasToken("keep-alive", "upgrade"));
  EXPECT_FALSE(listHasToken("", "upgrade"));
}

TEST(HttpHeaders, TrimOws) {
  EXPECT_EQ(trimOws(" \t a b \t "), "a b");
  EXPECT_EQ(trimOws("   "), "");
  EXPECT_EQ(trimOws(""), "");
}

TEST(HttpHeaders, ListLookups) {
  HeaderList list;
  EXPECT_TRUE(list.empty());
  list.add("Connection", "keep-alive");
  list.add("Host", "a");
  list.add("connection", "Upgrade");
  EXPECT_EQ(list.size(), 3U);
  EXPECT_EQ(list.get("CONNECTION"), "keep-alive");
  EXPECT_EQ(list.getAll("Connection"), "keep-alive, Upgrade");
  EXPECT_EQ(list.count("connection"), 2U);
  EXPECT_TRUE(list.hasToken("Connection", "upgrade"));
  EXPECT_FALSE(list.hasToken("Host", "upgrade"));
  EXPECT_FALSE(list.contains("Upgrade"));
  std::size_t seen = 0;
  for (const Header& h : list)
    seen += h.name.size();
  EXPECT_EQ(seen, 10U + 4U + 10U);
}

} // namespace
} // namespace wsgate::http
