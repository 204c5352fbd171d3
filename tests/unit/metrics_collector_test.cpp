// The scrape-time collector: sums every worker's counters, seeds the series the configuration
// makes known at zero, and renders the text format Prometheus parses.
#include "common/config/config.h"
#include "proxy/metrics/collector.h"
#include "proxy/metrics/names.h"

#include <gtest/gtest.h>
#include <map>
#include <string>

namespace wsgate::proxy::metrics {
namespace {

constexpr const char* kConfig = R"(
[[listeners]]
name = "public"
listen = "127.0.0.1:0"
[[pools]]
name = "chat"
backends = ["127.0.0.1:9001", "127.0.0.1:9002"]
[[routes]]
name = "chat"
listener = "public"
path_prefix = "/chat"
pool = "chat"
)";

struct Fixture {
  Fixture() {
    config::LoadResult result = config::loadConfigString(kConfig, "test.toml");
    EXPECT_TRUE(result.ok());
    config = result.config;
    Collector::Sources sources;
    sources.workers = {&a, &b};
    sources.server = &server;
    sources.health = &health;
    sources.draining = &draining;
    sources.config = [this] { return config; };
    sources.start_time_s = 1700000000;
    collector = std::make_unique<Collector>(std::move(sources));
  }

  std::shared_ptr<const config::Config> config;
  WorkerStats a;
  WorkerStats b;
  ServerStats server;
  BackendHealth health;
  std::atomic<bool> draining{false};
  std::unique_ptr<Collector> collector;
};

// Every sample of the text format: "name{labels}" -> value.
std::map<std::string, double> parse(const std::string& text) {
  std::map<std::string, double> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = text.find('\n', pos);
    const std::string line = text.substr(pos, end - pos);
    pos = end == std::string::npos ? text.size() : end + 1;
    if (line.empty() || line[0] == '#') continue;
    const std::size_t space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

TEST(MetricsCollector, SeedsKnownSeriesAtZero) {
  Fixture f;
  const auto samples = parse(f.collector->text());
  EXPECT_EQ(samples.at(R"(wsgate_connections_accepted_total{listener="public"})"), 0);
  EXPECT_EQ(samples.at(R"(wsgate_connections_rejected_total{listener="public",reason="no_route"})"),
            0);
  EXPECT_EQ(samples.at(R"(wsgate_handshakes_total{listener="public",status="101"})"), 0);
  EXPECT_EQ(samples.at(R"(wsgate_sessions_active{route="chat",pool="chat"})"), 0);
  EXPECT_EQ(samples.at(R"(wsgate_backend_up{pool="chat",backend="127.0.0.1:9002"})"), 1);
  EXPECT_EQ(
      samples.at(R"(wsgate_backend_connect_failures_total{pool="chat",backend="127.0.0.1:9001"})"),
      0);
  EXPECT_EQ(samples.at(R"(wsgate_closes_total{leg="client",closed_by="proxy",code="1009"})"), 0);
  EXPECT_EQ(samples.at(R"(wsgate_policy_violations_total{kind="utf8",offender="backend"})"), 0);
  EXPECT_EQ(samples.count(R"(wsgate_policy_violations_total{kind="lifetime",offender="backend"})"),
            0u);
  EXPECT_EQ(samples.at(R"(wsgate_frames_total{direction="backend_to_client",opcode="pong"})"), 0);
  EXPECT_EQ(samples.at(R"(wsgate_session_duration_seconds_count{route="chat"})"), 0);
  EXPECT_EQ(samples.at(R"(wsgate_backend_connect_duration_seconds_bucket{pool="chat",le="+Inf"})"),
            0);
  EXPECT_EQ(samples.at(R"(wsgate_build_info{version=")" WSGATE_VERSION R"("})"), 1);
  EXPECT_EQ(samples.at(R"(wsgate_config_reloads_total{result="failure"})"), 0);
  EXPECT_EQ(samples.at("wsgate_workers"), 2);
  EXPECT_EQ(samples.at("wsgate_process_start_time_seconds"), 1700000000);
  EXPECT_GT(samples.at("wsgate_process_open_fds"), 0);
  EXPECT_GT(samples.at("wsgate_process_resident_memory_bytes"), 0);
}

TEST(MetricsCollector, SumsWorkers) {
  Fixture f;
  f.a.frames[0][1].add(3);
  f.b.frames[0][1].add(4);
  f.a.messages[1][2].add(2);
  f.b.payload_bytes[1].add(1000);
  f.a.pings_sent.add(5);
  f.b.heartbeat_timeouts.add();
  f.a.ping_rtt.observe(0.002);
  f.b.ping_rtt.observe(0.2);
  f.b.ping_rtt.observe(10);
  f.a.loop_lag_us.set(1500);
  {
    std::lock_guard lock(f.a.mutex);
    f.a.accepted["public"] = 2;
    f.a.active["public"] = 1;
    f.a.closes[key({"client", "proxy", "1009"})] = 1;
    f.a.connect_failures[key({"chat", "127.0.0.1:9001"})] = 2;
  }
  {
    std::lock_guard lock(f.b.mutex);
    f.b.accepted["public"] = 3;
    f.b.closes[key({"client", "proxy", "1009"})] = 2;
    f.b.closes[key({"backend", "backend", "1006"})] = 1;
  }
  f.server.reloads_failed.add();
  f.draining.store(true);
  const auto samples = parse(f.collector->text());
  EXPECT_EQ(samples.at(R"(wsgate_frames_total{direction="client_to_backend",opcode="text"})"), 7);
  EXPECT_EQ(samples.at(R"(wsgate_messages_total{direction="backend_to_client",opcode="binary"})"),
            2);
  EXPECT_EQ(samples.at(R"(wsgate_payload_bytes_total{direction="backend_to_client"})"), 1000);
  EXPECT_EQ(samples.at("wsgate_heartbeat_pings_sent_total"), 5);
  EXPECT_EQ(samples.at("wsgate_heartbeat_timeouts_total"), 1);
  EXPECT_EQ(samples.at("wsgate_heartbeat_rtt_seconds_count"), 3);
  EXPECT_EQ(samples.at(R"(wsgate_heartbeat_rtt_seconds_bucket{le="0.0025"})"), 1);
  EXPECT_EQ(samples.at(R"(wsgate_heartbeat_rtt_seconds_bucket{le="0.25"})"), 2);
  EXPECT_EQ(samples.at(R"(wsgate_heartbeat_rtt_seconds_bucket{le="2.5"})"), 2);
  EXPECT_EQ(samples.at(R"(wsgate_heartbeat_rtt_seconds_bucket{le="+Inf"})"), 3);
  EXPECT_NEAR(samples.at("wsgate_heartbeat_rtt_seconds_sum"), 10.202, 1e-6);
  EXPECT_EQ(samples.at(R"(wsgate_connections_accepted_total{listener="public"})"), 5);
  EXPECT_EQ(samples.at(R"(wsgate_connections_active{listener="public"})"), 1);
  EXPECT_EQ(samples.at(R"(wsgate_closes_total{leg="client",closed_by="proxy",code="1009"})"), 3);
  EXPECT_EQ(samples.at(R"(wsgate_closes_total{leg="backend",closed_by="backend",code="1006"})"), 1);
  EXPECT_EQ(
      samples.at(R"(wsgate_backend_connect_failures_total{pool="chat",backend="127.0.0.1:9001"})"),
      2);
  EXPECT_EQ(samples.at(R"(wsgate_worker_loop_lag_seconds{worker="0"})"), 0.0015);
  EXPECT_EQ(samples.at(R"(wsgate_worker_loop_lag_seconds{worker="1"})"), 0);
  EXPECT_EQ(samples.at(R"(wsgate_config_reloads_total{result="failure"})"), 1);
  EXPECT_EQ(samples.at("wsgate_draining"), 1);
}

TEST(MetricsCollector, KeepsSeriesOfLabelsNoLongerConfigured) {
  Fixture f;
  {
    std::lock_guard lock(f.a.mutex);
    f.a.sessions_active[key({"old-route", "old-pool"})] = 1;
  }
  const auto samples = parse(f.collector->text());
  EXPECT_EQ(samples.at(R"(wsgate_sessions_active{route="old-route",pool="old-pool"})"), 1);
  EXPECT_EQ(samples.at(R"(wsgate_sessions_active{route="chat",pool="chat"})"), 0);
}

TEST(MetricsCollector, BackendUpFollowsHealth) {
  Fixture f;
  const config::Pool& pool = f.config->pools[0];
  for (int i = 0; i < 3; ++i)
    f.health.recordConnect(pool, "127.0.0.1:9001", false);
  const auto samples = parse(f.collector->text());
  EXPECT_EQ(samples.at(R"(wsgate_backend_up{pool="chat",backend="127.0.0.1:9001"})"), 0);
  EXPECT_EQ(samples.at(R"(wsgate_backend_up{pool="chat",backend="127.0.0.1:9002"})"), 1);
}

TEST(MetricsCollector, EveryFamilyHasHelpAndAType) {
  Fixture f;
  for (const prometheus::MetricFamily& family : f.collector->Collect()) {
    EXPECT_TRUE(family.name.starts_with("wsgate_")) << family.name;
    EXPECT_FALSE(family.help.empty()) << family.name;
    const bool total = family.name.ends_with("_total");
    EXPECT_EQ(total, family.type == prometheus::MetricType::Counter) << family.name;
    EXPECT_FALSE(family.metric.empty()) << family.name;
  }
}

} // namespace
} // namespace wsgate::proxy::metrics
