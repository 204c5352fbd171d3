// Where consistent_hash takes its key from in a request.
#include "common/balance/request_key.h"

#include <gtest/gtest.h>

namespace wsgate::balance {
namespace {

std::optional<std::string_view> keyOf(std::string_view spec, const RequestView& view) {
  const auto key = config::parseHashKey(spec);
  EXPECT_TRUE(key.value.has_value()) << key.error;
  return hashKeyOf(*key.value, view);
}

TEST(RequestKey, EachSource) {
  http::HeaderList headers;
  headers.add("X-Tenant", "  acme ");
  headers.add("Cookie", "a=1; sid=\"abc\"; b=2");
  headers.add("Cookie", "late=9");
  const RequestView view{"10.0.0.9", "/chat/room?x=1&room=42&room=43", "/chat/room", &headers};
  EXPECT_EQ(keyOf("ip", view), "10.0.0.9");
  EXPECT_EQ(keyOf("path", view), "/chat/room");
  EXPECT_EQ(keyOf("header:x-tenant", view), "acme");
  EXPECT_EQ(keyOf("header:X-TENANT", view), "acme");
  EXPECT_EQ(keyOf("cookie:sid", view), "abc");
  EXPECT_EQ(keyOf("cookie:late", view), "9");
  EXPECT_EQ(keyOf("query:room", view), "42");
  EXPECT_EQ(keyOf("query:x", view), "1");
}

TEST(RequestKey, MissingKeysAreNone) {
  http::HeaderList headers;
  headers.add("Cookie", "sidx=1; xsid=2");
  const RequestView view{"::1", "/p?roomx=1&aroom=2&room", "/p", &headers};
  EXPECT_FALSE(keyOf("header:x-tenant", view).has_value());
  EXPECT_FALSE(keyOf("cookie:sid", view).has_value());
  EXPECT_EQ(keyOf("query:room", view), "") << "present without a value";
  EXPECT_FALSE(keyOf("query:r", view).has_value());
  const RequestView bare{"::1", "/p", "/p", &headers};
  EXPECT_FALSE(keyOf("query:room", bare).has_value());
}

TEST(RequestKey, PathIsAcceptedByTheConfig) {
  const auto key = config::parseHashKey("path");
  ASSERT_TRUE(key.value.has_value());
  EXPECT_EQ(key.value->source, config::HashKeySource::Path);
  EXPECT_FALSE(config::parseHashKey("paths").value.has_value());
}

} // namespace
} // namespace wsgate::balance
