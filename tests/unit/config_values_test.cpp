#include "common/config/values.h"

#include <gtest/gtest.h>

namespace wsgate::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

milliseconds duration(std::string_view text) {
  Parsed<milliseconds> parsed = parseDuration(text);
  EXPECT_TRUE(parsed) << text << ": " << parsed.error;
  return parsed.value.value_or(milliseconds(-1));
}

std::string durationError(std::string_view text) {
  Parsed<milliseconds> parsed = parseDuration(text);
  EXPECT_FALSE(parsed) << text;
  return parsed.error;
}

uint64_t size(std::string_view text) {
  Parsed<uint64_t> parsed = parseSize(text);
  EXPECT_TRUE(parsed) << text << ": " << parsed.error;
  return parsed.value.value_or(0);
}

std::string sizeError(std::string_view text) {
  Parsed<uint64_t> parsed = parseSize(text);
  EXPECT_FALSE(parsed) << text;
  return parsed.error;
}

TEST(ConfigDuration, SingleUnits) {
  EXPECT_EQ(duration("250ms"), milliseconds(250));
  EXPECT_EQ(duration("30s"), seconds(30));
  EXPECT_EQ(duration("5m"), minutes(5));
  EXPECT_EQ(duration("1h"), hours(1));
  EXPECT_EQ(duration("007s"), seconds(7));
}

TEST(ConfigDuration, Zero) {
  EXPECT_EQ(duration("0"), milliseconds(0));
  EXPECT_EQ(duration("0s"), milliseconds(0));
  EXPECT_EQ(duration("0ms"), milliseconds(0));
  EXPECT_EQ(duration("0h0m"), milliseconds(0));
}

TEST(ConfigDuration, Combinations) {
  EXPECT_EQ(duration("1m30s"), seconds(90));
  EXPECT_EQ(duration("1h30m"), minutes(90));
  EXPECT_EQ(duration("2s500ms"), milliseconds(2500));
  EXPECT_EQ(duration("1h2m3s4ms"), hours(1) + minutes(2) + seconds(3) + milliseconds(4));
  EXPECT_EQ(duration("90s"), seconds(90));
}

TEST(ConfigDuration, Rejects) {
  EXPECT_NE(durationError("").find("empty duration"), std::string::npos);
  EXPECT_NE(durationError("30").find("needs a unit"), std::string::npos);
  EXPECT_NE(durationError("5x").find("unknown unit \"x\""), std::string::npos);
  EXPECT_NE(durationError("5sec").find("unknown unit \"sec\""), std::string::npos);
  EXPECT_NE(durationError("5S").find("unknown unit"), std::string::npos);
  EXPECT_NE(durationError("-5s").find("negative"), std::string::npos);
  EXPECT_NE(durationError("+5s").find("invalid duration"), std::string::npos);
  EXPECT_NE(durationError("1.5s").find("fractions"), std::string::npos);
  EXPECT_NE(durationError("30s1m").find("largest to smallest"), std::string::npos);
  EXPECT_NE(durationError("1s1s").find("largest to smallest"), std::string::npos);
  EXPECT_NE(durationError(" 5s").find("invalid duration"), std::string::npos);
  EXPECT_NE(durationError("5 s").find("needs a unit"), std::string::npos);
  EXPECT_NE(durationError("5s ").find("invalid duration"), std::string::npos);
  EXPECT_NE(durationError("s").find("invalid duration"), std::string::npos);
}

TEST(ConfigDuration, Overflow) {
  EXPECT_EQ(duration("8760h"), kMaxDuration);
  EXPECT_EQ(duration("525600m"), kMaxDuration);
  EXPECT_NE(durationError("8761h").find("too large"), std::string::npos);
  EXPECT_NE(durationError("8760h1ms").find("too large"), std::string::npos);
  EXPECT_NE(durationError("99999999999999999999s").find("too large"), std::string::npos);
  EXPECT_NE(durationError("18446744073709551615ms").find("too large"), std::string::npos);
  EXPECT_NE(durationError("9223372036854775807h").find("too large"), std::string::npos);
}

TEST(ConfigDuration, FormatRoundTrips) {
  EXPECT_EQ(formatDuration(milliseconds(0)), "0s");
  EXPECT_EQ(formatDuration(milliseconds(250)), "250ms");
  EXPECT_EQ(formatDuration(seconds(90)), "1m30s");
  EXPECT_EQ(formatDuration(hours(2)), "2h");
  for (const char* text : {"1h2m3s4ms", "59m59s999ms", "8760h"}) {
    EXPECT_EQ(formatDuration(duration(text)), text);
  }
}

TEST(ConfigSize, Units) {
  EXPECT_EQ(size("0"), 0U);
  EXPECT_EQ(size("512"), 512U);
  EXPECT_EQ(size("512B"), 512U);
  EXPECT_EQ(size("64KiB"), 64U * 1024);
  EXPECT_EQ(size("1MiB"), 1024U * 1024);
  EXPECT_EQ(size("1GiB"), 1024ULL * 1024 * 1024);
  EXPECT_EQ(size("2TiB"), 2ULL << 40);
  EXPECT_EQ(size("64KB"), 64000U);
  EXPECT_EQ(size("64kB"), 64000U);
  EXPECT_EQ(size("1MB"), 1000000U);
  EXPECT_EQ(size("1GB"), 1000000000U);
  EXPECT_EQ(size("1TB"), 1000000000000U);
  EXPECT_EQ(size("4 MiB"), 4U * 1024 * 1024);
}

TEST(ConfigSize, Rejects) {
  EXPECT_NE(sizeError("").find("empty size"), std::string::npos);
  EXPECT_NE(sizeError("-1").find("negative"), std::string::npos);
  EXPECT_NE(sizeError("1.5MiB").find("fractions"), std::string::npos);
  EXPECT_NE(sizeError("1mib").find("unknown unit \"mib\""), std::string::npos);
  EXPECT_NE(sizeError("1K").find("unknown unit \"K\""), std::string::npos);
  EXPECT_NE(sizeError("MiB").find("invalid size"), std::string::npos);
  EXPECT_NE(sizeError("1  MiB").find("unknown unit"), std::string::npos);
  EXPECT_NE(sizeError("1 ").find("invalid size"), std::string::npos);
  EXPECT_NE(sizeError("0x10").find("unknown unit"), std::string::npos);
}

TEST(ConfigSize, Overflow) {
  EXPECT_EQ(size("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(size("16777215TiB"), 16777215ULL << 40);
  EXPECT_NE(sizeError("18446744073709551616").find("too large"), std::string::npos);
  EXPECT_NE(sizeError("16777216TiB").find("too large"), std::string::npos);
  EXPECT_NE(sizeError("18446744073709551615KiB").find("too large"), std::string::npos);
}

Address address(std::string_view text, PortRule rule = PortRule::NonZero) {
  Parsed<Address> parsed = parseAddress(text, rule);
  EXPECT_TRUE(parsed) << text << ": " << parsed.error;
  return parsed.value.value_or(Address{"<error>", 0});
}

std::string addressError(std::string_view text, PortRule rule = PortRule::NonZero) {
  Parsed<Address> parsed = parseAddress(text, rule);
  EXPECT_FALSE(parsed) << text;
  return parsed.error;
}

TEST(ConfigAddress, Accepts) {
  EXPECT_EQ(address("127.0.0.1:9001"), (Address{"127.0.0.1", 9001}));
  EXPECT_EQ(address("0.0.0.0:8080"), (Address{"0.0.0.0", 8080}));
  EXPECT_EQ(address("localhost:1"), (Address{"localhost", 1}));
  EXPECT_EQ(address("echo-backend.svc.cluster.local:65535"),
            (Address{"echo-backend.svc.cluster.local", 65535}));
  EXPECT_EQ(address("[::1]:8080"), (Address{"::1", 8080}));
  EXPECT_EQ(address("[::]:443"), (Address{"::", 443}));
  EXPECT_EQ(address("[2001:db8::17]:9000"), (Address{"2001:db8::17", 9000}));
  EXPECT_EQ(address("[::ffff:10.0.0.1]:80"), (Address{"::ffff:10.0.0.1", 80}));
}

TEST(ConfigAddress, PortZeroOnlyWhereAllowed) {
  EXPECT_EQ(address("127.0.0.1:0", PortRule::AllowZero), (Address{"127.0.0.1", 0}));
  EXPECT_NE(addressError("127.0.0.1:0").find("port 0 is not allowed"), std::string::npos);
}

TEST(ConfigAddress, Rejects) {
  EXPECT_EQ(addressError("127.0.0.1"),
            "invalid address \"127.0.0.1\": missing port; expected host:port like "
            "\"127.0.0.1:8080\"");
  EXPECT_EQ(addressError("::1:80"),
            "invalid address \"::1:80\": an IPv6 address needs brackets, like \"[::1]:8080\"");
  EXPECT_EQ(addressError("0.0.0.0:65536"),
            "invalid address \"0.0.0.0:65536\": port \"65536\" is not a number from 1 to 65535");
  EXPECT_NE(addressError("host:").find("missing port"), std::string::npos);
  EXPECT_NE(addressError("host:-1").find("not a number"), std::string::npos);
  EXPECT_NE(addressError("host:+80").find("not a number"), std::string::npos);
  EXPECT_NE(addressError("host:80 ").find("not a number"), std::string::npos);
  EXPECT_NE(addressError("host:0080000").find("not a number"), std::string::npos);
  EXPECT_NE(addressError(":8080").find("missing host"), std::string::npos);
  EXPECT_NE(addressError("").find("empty"), std::string::npos);
  EXPECT_NE(addressError("[::1]").find("expected \":port\""), std::string::npos);
  EXPECT_NE(addressError("[::1:80").find("missing ']'"), std::string::npos);
  EXPECT_NE(addressError("[::g]:80").find("not a valid IPv6"), std::string::npos);
  EXPECT_NE(addressError("[127.0.0.1]:80").find("not a valid IPv6"), std::string::npos);
  EXPECT_NE(addressError("256.0.0.1:80").find("not a valid IPv4"), std::string::npos);
  EXPECT_NE(addressError("1.2.3:80").find("not a valid IPv4"), std::string::npos);
  EXPECT_NE(addressError("bad host:80").find("not a valid host name"), std::string::npos);
  EXPECT_NE(addressError("a..b:80").find("not a valid host name"), std::string::npos);
  EXPECT_NE(addressError("*:80").find("not a valid host name"), std::string::npos);
}

TEST(ConfigAddress, Formats) {
  EXPECT_EQ(formatAddress(Address{"::1", 8080}), "[::1]:8080");
  EXPECT_EQ(formatAddress(Address{"127.0.0.1", 9001}), "127.0.0.1:9001");
}

TEST(ConfigBackend, Forms) {
  Parsed<Backend> plain = parseBackend("127.0.0.1:9001");
  ASSERT_TRUE(plain) << plain.error;
  EXPECT_FALSE(plain.value->tls);
  EXPECT_EQ(plain.value->address, (Address{"127.0.0.1", 9001}));
  EXPECT_EQ(plain.value->original, "127.0.0.1:9001");

  Parsed<Backend> ws = parseBackend("ws://chat.internal:8000");
  ASSERT_TRUE(ws) << ws.error;
  EXPECT_FALSE(ws.value->tls);
  EXPECT_EQ(ws.value->address, (Address{"chat.internal", 8000}));

  Parsed<Backend> wss = parseBackend("wss://[::1]:9443");
  ASSERT_TRUE(wss) << wss.error;
  EXPECT_TRUE(wss.value->tls);
  EXPECT_EQ(wss.value->address, (Address{"::1", 9443}));
  EXPECT_EQ(wss.value->original, "wss://[::1]:9443");

  Parsed<Backend> upper = parseBackend("WSS://example.com:1");
  ASSERT_TRUE(upper) << upper.error;
  EXPECT_TRUE(upper.value->tls);
}

TEST(ConfigBackend, DefaultPortsWithScheme) {
  EXPECT_EQ(parseBackend("wss://example.com").value->address, (Address{"example.com", 443}));
  EXPECT_EQ(parseBackend("ws://example.com").value->address, (Address{"example.com", 80}));
  EXPECT_EQ(parseBackend("wss://[::1]").value->address, (Address{"::1", 443}));
}

TEST(ConfigBackend, Rejects) {
  EXPECT_EQ(parseBackend("http://a:1").error,
            "unsupported scheme \"http\" in backend \"http://a:1\"; use \"ws://\", \"wss://\" "
            "or plain host:port");
  EXPECT_NE(parseBackend("wss://a:1/chat").error.find("only host and port"), std::string::npos);
  EXPECT_NE(parseBackend("ws://user@a:1").error.find("only host and port"), std::string::npos);
  EXPECT_EQ(parseBackend("example.com").error,
            "invalid backend \"example.com\": missing port; expected host:port like "
            "\"127.0.0.1:8080\"");
  EXPECT_NE(parseBackend("127.0.0.1:0").error.find("port 0"), std::string::npos);
  EXPECT_NE(parseBackend("wss://:443").error.find("missing host"), std::string::npos);
  EXPECT_FALSE(parseBackend(""));
}

TEST(ConfigHashKey, Forms) {
  EXPECT_EQ(*parseHashKey("ip").value, HashKey{});
  EXPECT_EQ(*parseHashKey("header:X-User-Id").value, (HashKey{HashKeySource::Header, "x-user-id"}));
  EXPECT_EQ(*parseHashKey("cookie:SessionID").value, (HashKey{HashKeySource::Cookie, "SessionID"}));
  EXPECT_EQ(*parseHashKey("query:room").value, (HashKey{HashKeySource::Query, "room"}));
}

TEST(ConfigHashKey, Rejects) {
  EXPECT_NE(parseHashKey("").error.find("invalid hash_key"), std::string::npos);
  EXPECT_NE(parseHashKey("IP").error.find("invalid hash_key"), std::string::npos);
  EXPECT_NE(parseHashKey("header:").error.find("needs a name"), std::string::npos);
  EXPECT_NE(parseHashKey("header:a b").error.find("invalid header name"), std::string::npos);
  EXPECT_NE(parseHashKey("cookie:a;b").error.find("invalid cookie name"), std::string::npos);
  EXPECT_NE(parseHashKey("query:a&b").error.find("invalid query"), std::string::npos);
  EXPECT_NE(parseHashKey("path:x").error.find("invalid hash_key"), std::string::npos);
}

TEST(ConfigHostPattern, AcceptsAndLowerCases) {
  EXPECT_EQ(*parseHostPattern("*").value, "*");
  EXPECT_EQ(*parseHostPattern("Chat.Example.COM").value, "chat.example.com");
  EXPECT_EQ(*parseHostPattern("*.example.com").value, "*.example.com");
  EXPECT_EQ(*parseHostPattern("10.0.0.1").value, "10.0.0.1");
  EXPECT_EQ(*parseHostPattern("[::1]").value, "[::1]");
}

TEST(ConfigHostPattern, Rejects) {
  for (const char* bad : {"", "*.", "a.*.com", "*example.com", "example.com:80", "**", "*.*", "a b",
                          "[::g]", "*.10.0.0.1"}) {
    EXPECT_FALSE(parseHostPattern(bad)) << bad;
  }
}

TEST(ConfigOriginPattern, AcceptsAndRejects) {
  EXPECT_EQ(*parseOriginPattern("https://App.Example.com").value, "https://app.example.com");
  EXPECT_EQ(*parseOriginPattern("http://localhost:3000").value, "http://localhost:3000");
  EXPECT_EQ(*parseOriginPattern("http://[::1]:3000").value, "http://[::1]:3000");
  EXPECT_EQ(*parseOriginPattern("*.example.com").value, "*.example.com");
  EXPECT_EQ(parseOriginPattern("*").error,
            "\"*\" is not an origin; an empty allowed_origins allows any origin");
  for (const char* bad : {"", "example.com", "https://", "https://a.com/path", "*.", "://a.com",
                          "https://a.com:0", "ht tp://a.com"}) {
    EXPECT_FALSE(parseOriginPattern(bad)) << bad;
  }
}

TEST(ConfigCloseCode, SendableCodes) {
  for (int64_t code :
       {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4002, 4999}) {
    EXPECT_TRUE(isSendableCloseCode(code)) << code;
  }
  for (int64_t code : {-1, 0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535}) {
    EXPECT_FALSE(isSendableCloseCode(code)) << code;
  }
}

} // namespace
} // namespace wsgate::config
