#include "common/ws/handshake.h"

#include <gtest/gtest.h>

namespace wsgate::ws {
namespace {

TEST(Handshake, AcceptFromRfcExample) {
  // RFC 6455 section 1.3.
  EXPECT_EQ(computeAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(Handshake, KeyValidity) {
  EXPECT_TRUE(isValidKey("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_FALSE(isValidKey(""));
  EXPECT_FALSE(isValidKey("dGhlIHNhbXBsZSBub25jZQ="));   // 23 characters
  EXPECT_FALSE(isValidKey("dGhlIHNhbXBsZSBub25jZQ===")); // 25 characters
  EXPECT_FALSE(isValidKey("dGhlIHNhbXBsZSBub25jZQ!="));  // not padding
  EXPECT_FALSE(isValidKey("dGhlIHNhbXBsZSBub2*jZQ=="));  // not base64
  EXPECT_FALSE(isValidKey("dGhlIHNhbXBsZSBub25jZR=="));  // stray bits in the last character
  EXPECT_FALSE(isValidKey("aGVsbG8="));                  // 5 bytes
  for (int i = 0; i < 100; ++i)
    EXPECT_TRUE(isValidKey(generateKey()));
}

} // namespace
} // namespace wsgate::ws
