// Label values are bounded sets: every value a helper returns is in the list the collector seeds.
#include "proxy/metrics/names.h"
#include "proxy/metrics/stats.h"

#include <algorithm>
#include <gtest/gtest.h>

namespace wsgate::proxy::metrics {
namespace {

template <typename List> bool contains(const List& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

TEST(MetricsLabels, CloseCodesAreBucketed) {
  EXPECT_EQ(closeCodeLabel(1000), "1000");
  EXPECT_EQ(closeCodeLabel(1014), "1014");
  EXPECT_EQ(closeCodeLabel(4002), "4002");
  EXPECT_EQ(closeCodeLabel(4000), "4xxx");
  EXPECT_EQ(closeCodeLabel(4999), "4xxx");
  EXPECT_EQ(closeCodeLabel(3001), "3xxx");
  EXPECT_EQ(closeCodeLabel(1016), "other");
  EXPECT_EQ(closeCodeLabel(0), "other");
  for (uint32_t code = 0; code <= 0xffff; ++code) {
    ASSERT_TRUE(contains(kCloseCodeLabels, closeCodeLabel(static_cast<uint16_t>(code)))) << code;
  }
}

TEST(MetricsLabels, RejectReasonsAreKnown) {
  for (int status = 100; status < 600; ++status)
    ASSERT_TRUE(contains(kRejectReasons, rejectReason(status))) << status;
  for (const int status : kHandshakeStatuses) {
    if (status == 101) continue;
    EXPECT_STRNE(rejectReason(status), "other") << status;
  }
}

TEST(MetricsLabels, KeysRoundTrip) {
  const std::string k = key({"chat", "127.0.0.1:9001", ""});
  const std::vector<std::string_view> parts = splitKey(k);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0], "chat");
  EXPECT_EQ(parts[1], "127.0.0.1:9001");
  EXPECT_EQ(parts[2], "");
  EXPECT_EQ(splitKey("one").size(), 1u);
}

TEST(MetricsLabels, BackendLabelIsTheConfiguredAddress) {
  config::Backend backend;
  backend.address = {"::1", 9001};
  EXPECT_EQ(backendLabel(backend), "[::1]:9001");
  backend.address = {"chat.internal", 443};
  backend.tls = true;
  EXPECT_EQ(backendLabel(backend), "chat.internal:443");
}

} // namespace
} // namespace wsgate::proxy::metrics
