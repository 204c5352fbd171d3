#include "common/log/log_line.h"

#include <gtest/gtest.h>

namespace wsgate::log {
namespace {

TEST(LogLine, JsonEscapesAndOrdersFields) {
  LogLine line(LogLine::Format::Json, "access", "info");
  line.str("reason", "a \"quoted\"\nline\\").num("code", 1009).real("rtt", 1.25, 1).null("x");
  const std::string out = line.finish();
  EXPECT_EQ(out.back(), '\n');
  EXPECT_NE(out.find(R"("level":"info","event":"access","reason":"a \"quoted\"\nline\\",)"
                     R"("code":1009,"rtt":1.2,"x":null})"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.rfind("{\"ts\":\"", 0), 0u);
}

TEST(LogLine, InvalidUtf8BecomesReplacement) {
  std::string out;
  appendJsonEscaped(out, "ok\xff\x01");
  EXPECT_EQ(out, "ok\\ufffd\\u0001");
}

TEST(LogLine, TextFormat) {
  LogLine line(LogLine::Format::Text, "listening", "info");
  const std::string out = line.str("listener", "public").str("message", "two words").finish();
  EXPECT_NE(out.find(" info listening listener=public message=\"two words\"\n"), std::string::npos)
      << out;
}

TEST(LogLine, Timestamp) {
  EXPECT_EQ(formatTimestamp(1'000'123), "1970-01-01T00:16:40.123Z");
}

} // namespace
} // namespace wsgate::log
