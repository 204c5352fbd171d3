// HealthProbe's TCP-connect mode through the BackendConnector, on a real loop over loopback:
// the verdict for a listening port, a refused port and a name that does not resolve, and the
// deadline while the name resolves. The probe deletes itself; every handle is closed at the end.
#include "proxy/balancer/health_probe.h"
#include "proxy/core/buffer_pool.h"
#include "tests/unit/support/loopback.h"

#include <arpa/inet.h>
#include <functional>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace wsgate::proxy {
namespace {

class Owner final : public HealthProbeOwner {
public:
  std::optional<bool> healthy;
  std::string reason;
  int verdicts = 0;
  bool gone = false;
  void onProbeVerdict(HealthProbe&, bool ok, const std::string& why) override {
    ++verdicts;
    healthy = ok;
    reason = why;
  }
  void onProbeGone(HealthProbe&) override { gone = true; }
};

class HealthProbeTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    listening_port_ = test::boundLoopbackPort(true, listener_);
    int closed = -1;
    closed_port_ = test::boundLoopbackPort(false, closed);
    ::close(closed);
  }

  void TearDown() override {
    ::close(listener_);
    for (int i = 0; i < 1000 && uv_run(&loop_, UV_RUN_ONCE) != 0; ++i) {
    }
    EXPECT_EQ(uv_loop_close(&loop_), 0);
    EXPECT_EQ(pool_.inUse(), 0U);
  }

  HealthProbe* probe(const std::string& host, uint16_t port) {
    ProbeTarget target;
    target.id = "pool\x1f" + host;
    target.backend = config::Backend{false, {host, port}, "ws://" + host};
    return HealthProbe::create(&loop_, pool_, owner_, std::move(target), 5000);
  }

  // Runs the loop until the probe is gone (at most ~1000 iterations of at most 10 ms each).
  bool runUntilGone() {
    for (int i = 0; i < 1000 && !owner_.gone; ++i)
      uv_run(&loop_, UV_RUN_ONCE);
    return owner_.gone;
  }

  uv_loop_t loop_{};
  BufferPool pool_{0};
  Owner owner_;
  int listener_ = -1;
  uint16_t listening_port_ = 0;
  uint16_t closed_port_ = 0;
};

TEST_F(HealthProbeTest, ListeningPortIsHealthy) {
  probe("127.0.0.1", listening_port_)->begin();
  ASSERT_TRUE(runUntilGone());
  EXPECT_EQ(owner_.verdicts, 1);
  EXPECT_EQ(owner_.healthy, true);
  EXPECT_EQ(owner_.reason, "");
}

TEST_F(HealthProbeTest, RefusedPortIsDownWithTheConnectError) {
  probe("127.0.0.1", closed_port_)->begin();
  ASSERT_TRUE(runUntilGone());
  EXPECT_EQ(owner_.verdicts, 1);
  EXPECT_EQ(owner_.healthy, false);
  EXPECT_EQ(owner_.reason, "connect: connection refused");
}

TEST_F(HealthProbeTest, UnresolvableNameIsDownWithTheDnsError) {
  const std::string name = std::string(64, 'a') + ".test"; // refused before any query is sent
  probe(name, 80)->begin();
  ASSERT_TRUE(runUntilGone());
  EXPECT_EQ(owner_.verdicts, 1);
  EXPECT_EQ(owner_.healthy, false);
  const std::string prefix = "DNS: cannot resolve " + name + ": ";
  EXPECT_EQ(owner_.reason.substr(0, prefix.size()), prefix) << owner_.reason;
}

TEST_F(HealthProbeTest, DeadlineWhileResolvingEndsTheProbeAndDropsTheAnswer) {
  const std::string name = std::string(64, 'a') + ".test";
  HealthProbe* p = probe(name, 80);
  p->begin();
  ASSERT_FALSE(owner_.gone); // the lookup runs on the thread pool
  p->expire(uv_now(&loop_) + 5000);
  // No stream yet: the probe is gone at once; the lookup's answer finds nobody.
  EXPECT_TRUE(owner_.gone);
  EXPECT_EQ(owner_.verdicts, 1);
  EXPECT_EQ(owner_.healthy, false);
  EXPECT_EQ(owner_.reason, "timeout");
  for (int i = 0; i < 1000 && uv_run(&loop_, UV_RUN_ONCE) != 0; ++i) {
  }
  EXPECT_EQ(owner_.verdicts, 1);
}

} // namespace
} // namespace wsgate::proxy
