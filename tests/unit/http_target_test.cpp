// normalizeTarget(): what a request target is routed and forwarded as, and what is refused.
#include "common/http/target.h"

#include <gtest/gtest.h>
#include <string>
#include <utility>
#include <vector>

namespace wsgate::http {
namespace {

// The origin-form target wsgate routes by and forwards, or the error's reason.
std::string normalized(std::string_view target) {
  const TargetResult result = normalizeTarget(target);
  if (result.error != TargetError::None) return std::string("error: ") + reasonFor(result.error);
  return result.target.originForm();
}

using Cases = std::vector<std::pair<std::string, std::string>>;

void expectAll(const Cases& cases) {
  for (const auto& [in, expected] : cases) {
    EXPECT_EQ(normalized(in), expected) << "target: " << in;
  }
}

TEST(HttpTarget, PlainPathsAreUnchanged) {
  expectAll({
      {"/", "/"},
      {"/echo", "/echo"},
      {"/echo/", "/echo/"},
      {"/a/b/c", "/a/b/c"},
      {"/a.b/c-d_e~f", "/a.b/c-d_e~f"},
      {"/...", "/..."},
      {"/a/.../b", "/a/.../b"},
      {"/.hidden/..x/x..", "/.hidden/..x/x.."},
      {"/a;b=c/d", "/a;b=c/d"},
      {"/Case/Kept", "/Case/Kept"},
  });
}

TEST(HttpTarget, RemovesDotSegments) {
  expectAll({
      {"/public/../private", "/private"},
      {"/public/./x", "/public/x"},
      {"/a/b/../c", "/a/c"},
      {"/a/b/../../c", "/c"},
      {"/a/b/..", "/a/"},
      {"/a/b/.", "/a/b/"},
      {"/a/..", "/"},
      {"/.", "/"},
      {"/./", "/"},
      {"/a/./../b", "/b"},
      {"/a/b/c/./../../g", "/a/g"},
      {"/a/b/../", "/a/"},
  });
}

TEST(HttpTarget, CollapsesRepeatedSlashes) {
  expectAll({
      {"//", "/"},
      {"//echo", "/echo"},
      {"/a//b", "/a/b"},
      {"/a///b//", "/a/b/"},
      {"/a//..//b", "/b"},
      {"///public//../private", "/private"},
  });
}

TEST(HttpTarget, DecodesUnreservedEscapes) {
  expectAll({
      {"/%61%62%63", "/abc"},
      {"/%41%5a%30%39", "/AZ09"},
      {"/%2d%2E%5f%7E", "/-._~"},
      {"/public/%2e%2e/private", "/private"},
      {"/public/%2E%2E/private", "/private"},
      {"/public/.%2e/private", "/private"},
      {"/public/%2e./private", "/private"},
      {"/public/%2e/x", "/public/x"},
      {"/%2e%2e%2e", "/..."},
  });
}

TEST(HttpTarget, KeepsOtherEscapesWithUpperCaseHex) {
  expectAll({
      {"/a%20b", "/a%20b"},
      {"/a%3fb", "/a%3Fb"},
      {"/%c3%a9t%C3%A9", "/%C3%A9t%C3%A9"},
      {"/%25", "/%25"},
      {"/%252e%252e/x", "/%252e%252e/x"}, // "%25" stays encoded: no double decoding
      {"/a%3Bb", "/a%3Bb"},
      {"/%ff", "/%FF"},
  });
}

TEST(HttpTarget, KeepsTheQueryAsSent) {
  expectAll({
      {"/echo?room=1", "/echo?room=1"},
      {"/a/../b?x=/../y&%2e%2e=%2F", "/b?x=/../y&%2e%2e=%2F"},
      {"/echo?", "/echo?"},
      {"/echo??a", "/echo??a"},
      {"//a?//b", "/a?//b"},
      {"/?a\\b", "/?a\\b"},
  });
  const TargetResult result = normalizeTarget("/x?y");
  EXPECT_TRUE(result.target.has_query);
  EXPECT_EQ(result.target.query, "y");
  EXPECT_EQ(result.target.path, "/x");
  EXPECT_FALSE(normalizeTarget("/x").target.has_query);
}

TEST(HttpTarget, RefusesWhatCouldChangeThePathDownstream) {
  const std::string encoded_slash = "error: the path holds an encoded slash (%2F)";
  const std::string backslash = "error: the path holds a backslash";
  const std::string nul = "error: the path holds an encoded NUL (%00)";
  const std::string above = "error: the path climbs above the root ('..')";
  const std::string percent = "error: the path has a '%' not followed by two hex digits";
  const std::string params = "error: the path holds a dot segment with parameters (';')";
  const std::string fragment = "error: the request target must not carry a fragment ('#')";
  expectAll({
      {"/public%2F..%2Fprivate", encoded_slash},
      {"/public%2f..%2fprivate", encoded_slash},
      {"/a%2Fb", encoded_slash},
      {"/public\\..\\private", backslash},
      {"/a%5Cb", backslash},
      {"/a%5cb", backslash},
      {"/a%00b", nul},
      {"/..", above},
      {"/../private", above},
      {"/a/../..", above},
      {"/a/../../b", above},
      {"/%2e%2e/x", above},
      {"/public/..%2f..%2fx", encoded_slash},
      {"//..", above},
      {"/a%", percent},
      {"/a%2", percent},
      {"/a%zz", percent},
      {"/a%2g", percent},
      {"/%", percent},
      {"/public/..;/private", params},
      {"/public/.;x/private", params},
      {"/public/%2e%2e;/private", params},
      {"/echo#frag", fragment},
      {"/echo?x#frag", fragment},
  });
  // ";" after a normal segment is a path parameter the backend may use: kept.
  EXPECT_EQ(normalized("/a;x/..;y"), params);
  EXPECT_EQ(normalized("/a;x/../b"), "/b");
}

TEST(HttpTarget, AbsoluteForm) {
  expectAll({
      {"http://example.com/echo", "/echo"},
      {"http://127.0.0.1:8080/echo?x=1", "/echo?x=1"},
      {"HTTPS://Example.com:443/a/../b", "/b"},
      {"ws://h/echo", "/echo"},
      {"wss://h:1/echo", "/echo"},
      {"WS://h/", "/"},
      {"http://h", "/"},
      {"http://h?q", "/?q"},
      {"http://[::1]:8080/echo", "/echo"},
      {"http://[::1]/echo", "/echo"},
      {"http://h//a//b", "/a/b"},
  });
  const TargetResult result = normalizeTarget("http://Chat.Example.com:8080/a?b");
  ASSERT_EQ(result.error, TargetError::None);
  EXPECT_TRUE(result.target.absolute_form);
  EXPECT_EQ(result.target.authority, "Chat.Example.com:8080");
  EXPECT_EQ(result.target.path, "/a");
  EXPECT_EQ(result.target.query, "b");
  const TargetResult origin = normalizeTarget("/a");
  EXPECT_FALSE(origin.target.absolute_form);
  EXPECT_EQ(origin.target.authority, "");
}

TEST(HttpTarget, RefusesOtherForms) {
  const std::string not_absolute =
      "error: the request target must be an absolute path or an absolute URI";
  const std::string scheme = "error: the request target's scheme must be http, https, ws or wss";
  const std::string authority = "error: the request target's authority is not a valid host[:port]";
  expectAll({
      {"", not_absolute},
      {"*", not_absolute},
      {"echo", not_absolute},
      {"./echo", not_absolute},
      {"//x:y", "/x:y"}, // origin-form: a path starting with "//"
      {"ftp://h/echo", scheme},
      {"file:///etc/passwd", scheme},
      {"mailto:a", scheme},
      {"example.com:443", scheme}, // authority-form, for CONNECT only
      {"1http://h/", not_absolute},
      {"http:/h/echo", authority},
      {"http:///echo", authority},
      {"http://:80/echo", authority},
      {"http://h:x/echo", authority},
      {"http://h:123456/echo", authority},
      {"http://[::1/echo", authority},
      {"http://[]/echo", authority},
      {"http://[::1]x/echo", authority},
      {"http://h h/echo", authority},
      {"http://user@h/echo", "error: the request target must not carry user information"},
      {"http://user:pw@h/echo", "error: the request target must not carry user information"},
      {"http://h/a/../..", "error: the path climbs above the root ('..')"},
      {"http://h/a%2fb", "error: the path holds an encoded slash (%2F)"},
  });
}

TEST(HttpTarget, NormalisingTwiceChangesNothing) {
  for (const char* target : {"/public/../private", "/a//b/./c/", "/%61%2e%2E/x%3f", "/a/b/..",
                             "/%c3%a9", "/x/?q", "/a%20b/%7e", "http://h/a/../b?q=1"}) {
    const std::string once = normalized(target);
    ASSERT_EQ(once.rfind("error", 0), std::string::npos) << target;
    EXPECT_EQ(normalized(once), once) << target;
  }
}

} // namespace
} // namespace wsgate::http
