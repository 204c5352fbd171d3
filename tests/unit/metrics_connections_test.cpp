// /connections: answers gathered from several threads with a deadline, rendered as JSON.
#include "proxy/metrics/connections.h"

#include <gtest/gtest.h>
#include <memory>
#include <thread>

namespace wsgate::proxy::metrics {
namespace {

ConnectionInfo info(uint64_t id, std::string route) {
  ConnectionInfo c;
  c.id = id;
  c.route = std::move(route);
  c.state = "open";
  return c;
}

TEST(MetricsConnections, GathersEveryWorkersAnswerSortedById) {
  auto request = std::make_shared<ConnectionsRequest>("", 3);
  std::vector<std::thread> threads;
  for (uint64_t w = 0; w < 3; ++w) {
    threads.emplace_back([request, w] { request->answer({info(10 - w, "r"), info(20 + w, "r")}); });
  }
  EXPECT_EQ(request->wait(std::chrono::seconds(10)), 3u);
  for (auto& t : threads)
    t.join();
  const auto all = request->take();
  ASSERT_EQ(all.size(), 6u);
  for (std::size_t i = 1; i < all.size(); ++i)
    EXPECT_LT(all[i - 1].id, all[i].id);
}

TEST(MetricsConnections, WaitEndsAtTheDeadline) {
  auto request = std::make_shared<ConnectionsRequest>("", 2);
  request->answer({info(1, "r")});
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(request->wait(std::chrono::milliseconds(50)), 1u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
  request->answer({info(2, "r")}); // late: harmless
  EXPECT_EQ(request->take().size(), 2u);
}

TEST(MetricsConnections, JsonEscapesAndLimits) {
  ConnectionInfo c = info(7, "a\"b");
  c.path = "/x\n";
  c.last_ping_rtt_ms = 12.5;
  c.age_s = 1.25;
  const std::string json = connectionsJson({c, info(8, "r")}, 1, 2, 2);
  EXPECT_NE(json.find(R"("route":"a\"b")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("path":"/x\n")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("last_ping_rtt_ms":12.500)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("age_s":1.250)"), std::string::npos) << json;
  EXPECT_EQ(json.find(R"("id":8)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("total":2,"truncated":true,"workers":2,"workers_answered":2})"),
            std::string::npos)
      << json;
  const std::string none = connectionsJson({info(9, "r")}, 0, 1, 1);
  EXPECT_NE(none.find(R"("last_ping_rtt_ms":null})"), std::string::npos) << none;
}

} // namespace
} // namespace wsgate::proxy::metrics
