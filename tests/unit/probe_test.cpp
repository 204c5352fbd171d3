// The probe's pure parts: the command line, the URL, and the explanations it prints.

#include "proxy/probe/explain.h"
#include "proxy/probe/options.h"
#include "proxy/probe/report.h"

#include <cerrno>
#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>
#include <vector>

namespace wsgate::probe {
namespace {

ParsedArgs parse(std::vector<const char*> args) {
  return parseProbeArgs(static_cast<int>(args.size()), args.data());
}

TEST(ProbeArgs, ParsesEveryOption) {
  const ParsedArgs a = parse({"--header",
                              "Authorization: Bearer x",
                              "--header=X-A: 1",
                              "--origin",
                              "https://o.example",
                              "--subprotocol",
                              "v1",
                              "--subprotocol=v2",
                              "--cacert",
                              "ca.pem",
                              "--insecure",
                              "--sni",
                              "n.example",
                              "--timeout",
                              "2s",
                              "--count",
                              "5",
                              "--send",
                              "hi",
                              "--interval",
                              "100ms",
                              "--hold",
                              "60",
                              "--reconnect",
                              "4",
                              "--max-backoff",
                              "1m",
                              "--json",
                              "--quiet",
                              "wss://[::1]:8443/chat?room=1#frag"});
  ASSERT_EQ(a.error, "");
  const Options& o = a.options;
  EXPECT_EQ(o.headers, (std::vector<std::string>{"Authorization: Bearer x", "X-A: 1"}));
  EXPECT_EQ(o.origin, "https://o.example");
  EXPECT_EQ(o.subprotocols, (std::vector<std::string>{"v1", "v2"}));
  EXPECT_EQ(o.cacert, "ca.pem");
  EXPECT_TRUE(o.insecure);
  EXPECT_EQ(o.sni, "n.example");
  EXPECT_EQ(o.timeout, Millis(2000));
  EXPECT_EQ(o.count, 5);
  EXPECT_EQ(o.send, "hi");
  EXPECT_EQ(o.interval, Millis(100));
  EXPECT_EQ(o.hold, Millis(60000));
  EXPECT_EQ(o.reconnect, 4);
  EXPECT_EQ(o.max_backoff, Millis(60000));
  EXPECT_TRUE(o.json);
  EXPECT_TRUE(o.quiet);
  EXPECT_TRUE(o.url.tls);
  EXPECT_EQ(o.url.host, "::1");
  EXPECT_EQ(o.url.port, 8443);
  EXPECT_EQ(o.url.path, "/chat?room=1");
  EXPECT_EQ(o.url.hostHeader(), "[::1]:8443");
}

TEST(ProbeArgs, UsageErrors) {
  EXPECT_NE(parse({}).error, "");
  EXPECT_NE(parse({"http://h/"}).error, "");
  EXPECT_NE(parse({"ws://h:0/"}).error, "");
  EXPECT_NE(parse({"ws://h:99999/"}).error, "");
  EXPECT_NE(parse({"ws://user@h/"}).error, "");
  EXPECT_NE(parse({"ws://h/", "ws://g/"}).error, "");
  EXPECT_NE(parse({"--count", "-1", "ws://h/"}).error, "");
  EXPECT_NE(parse({"--timeout", "0", "ws://h/"}).error, "");
  EXPECT_NE(parse({"--header", "nocolon", "ws://h/"}).error, "");
  EXPECT_NE(parse({"--hold"}).error, "");
  EXPECT_NE(parse({"--nope", "ws://h/"}).error, "");
  EXPECT_TRUE(parse({"--help", "--nope"}).help);
}

TEST(ProbeUrl, DefaultsPortAndPath) {
  Url url;
  std::string error;
  ASSERT_TRUE(parseUrl("ws://example.com", url, error));
  EXPECT_EQ(url.port, 80);
  EXPECT_EQ(url.path, "/");
  EXPECT_EQ(url.hostHeader(), "example.com");
  ASSERT_TRUE(parseUrl("wss://example.com?x=1", url, error));
  EXPECT_EQ(url.port, 443);
  EXPECT_EQ(url.path, "/?x=1");
  EXPECT_EQ(url.text(), "wss://example.com/?x=1");
}

http::Response responseWith(int status, const char* reason,
                            std::vector<std::pair<const char*, const char*>> headers = {}) {
  http::Response r;
  r.status = status;
  r.reason = reason;
  for (const auto& [k, v] : headers)
    r.headers.add(k, v);
  return r;
}

TEST(ProbeExplain, HandshakeStatuses) {
  const Sent none;
  EXPECT_NE(explainStatus(responseWith(400, "Bad Request"), "missing Host header", none)
                .find("objected to the Host header"),
            std::string::npos);
  EXPECT_NE(
      explainStatus(responseWith(401, "Unauthorized", {{"WWW-Authenticate", "Basic"}}), "", none)
          .find("WWW-Authenticate: Basic"),
      std::string::npos);
  EXPECT_NE(explainStatus(responseWith(403, "Forbidden"), "", none).find("--origin"),
            std::string::npos);
  EXPECT_NE(
      explainStatus(responseWith(503, "Service Unavailable", {{"Retry-After", "5"}}), "", none)
          .find("Retry-After: 5"),
      std::string::npos);
  EXPECT_NE(explainStatus(responseWith(503, "Service Unavailable"), "", none)
                .find("no Retry-After given"),
            std::string::npos);
  EXPECT_NE(explainStatus(responseWith(500, "Internal Server Error"), "", none)
                .find("application server's logs"),
            std::string::npos);
  EXPECT_NE(explainStatus(responseWith(302, "Found", {{"Location", "/login"}}), "", none)
                .find("redirects to /login"),
            std::string::npos);
  EXPECT_NE(explainStatus(responseWith(200, "OK"), "", none).find("stripped the Upgrade headers"),
            std::string::npos);
}

TEST(ProbeExplain, CloseCodes) {
  EXPECT_EQ(explainClose(1000, "").rfind("1000 normal closure", 0), 0U);
  EXPECT_NE(explainClose(1006, "").find("without a close frame"), std::string::npos);
  EXPECT_NE(explainClose(1009, "limit 1 MiB").find("'limit 1 MiB'"), std::string::npos);
  EXPECT_EQ(explainClose(1009, "too big").find("limit, as"), std::string::npos);
  EXPECT_NE(explainClose(4001, "").find("refresh the token"), std::string::npos);
  EXPECT_NE(explainClose(4999, "").find("application code"), std::string::npos);
  EXPECT_NE(explainClose(3000, "").find("registered"), std::string::npos);
  EXPECT_TRUE(shouldReconnect(1012));
  EXPECT_FALSE(shouldReconnect(1008));
}

TEST(ProbeExplain, ConnectAndTls) {
  EXPECT_NE(explainConnectError(ECONNREFUSED, "a:1").find("connection refused by a:1"),
            std::string::npos);
  EXPECT_NE(explainConnectError(ETIMEDOUT, "a:1").find("timed out"), std::string::npos);
  EXPECT_NE(explainConnectError(EHOSTUNREACH, "a:1").find("unreachable"), std::string::npos);
  EXPECT_EQ(explainVerify(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "h").rfind("unknown CA", 0),
            0U);
  EXPECT_EQ(explainVerify(X509_V_ERR_CERT_HAS_EXPIRED, "h").rfind("expired", 0), 0U);
  EXPECT_EQ(explainVerify(X509_V_ERR_HOSTNAME_MISMATCH, "h").rfind("name mismatch", 0), 0U);
  EXPECT_NE(explainTlsError("error:0A00010B:SSL routines::wrong version number").find("try ws://"),
            std::string::npos);
}

TEST(ProbeJson, QuotesAndOrdersFields) {
  EXPECT_EQ(jsonQuote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
  Json j;
  j.str("s", "x").integer("i", -3).boolean("b", true).num("n", 1.5).strings("l", {"p", "q"});
  EXPECT_EQ(j.text(), "{\"s\":\"x\",\"i\":-3,\"b\":true,\"n\":1.500,\"l\":[\"p\",\"q\"]}");
}

} // namespace
} // namespace wsgate::probe
