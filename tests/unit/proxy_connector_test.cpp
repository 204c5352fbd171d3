// BackendConnector on a real loop over loopback sockets: a refused connect goes on to the next
// backend, an unresolvable name fails with the DNS error, a wss:// backend passes through the
// TLS handshake phase, the attempt's timeout, and an owner that goes away while its lookup runs
// never hears of it (the answer is dropped). Every handle is closed at the end of each test.
#include "proxy/balancer/connector.h"
#include "proxy/core/buffer_pool.h"
#include "proxy/transport/tcp_stream.h"
#include "proxy/transport/tls_context.h"
#include "proxy/transport/tls_stream.h"
#include "tests/unit/support/loopback.h"

#include <arpa/inet.h>
#include <functional>
#include <gtest/gtest.h>
#include <memory>
#include <netinet/in.h>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace wsgate::proxy {
namespace {

// A name the C library refuses before sending any query (a label longer than 63 bytes), so the
// lookup fails on this machine alone.
const std::string kUnresolvable = std::string(64, 'a') + ".test";

// Plays the connector's owner: tries `backends` in order, opens plain TCP (or TLS with `tls`)
// streams, and writes down what it is told.
class Owner final : public ConnectorOwner, public StreamEvents {
public:
  Owner(uv_loop_t* loop, BufferPool& pool, TimerWheel* wheel) : loop_(loop), pool_(pool) {
    connector.emplace(loop, wheel, static_cast<ConnectorOwner&>(*this));
  }

  std::vector<config::Backend> backends;
  std::shared_ptr<const ClientTls> tls;
  std::vector<std::string> events; // in order
  std::optional<BackendConnector> connector;
  std::function<void()> on_failed; // runs after a failure is written down
  bool finished = false;           // connected, or nothing left to try
  std::unique_ptr<Stream> stream;
  std::vector<std::unique_ptr<Stream>> retired;
  int open_handles = 0;

  ConnectTarget nextTarget() override {
    if (next_ == backends.size()) {
      events.emplace_back("exhausted");
      finished = true;
      return {};
    }
    return {&backends[next_++], nullptr};
  }
  Stream* openStream(const sockaddr* /*address*/, std::string& error) override {
    if (tls) {
      stream = TlsStream::client(loop_, pool_, *this, tls, backends[next_ - 1], "pool", error);
    } else {
      stream = std::make_unique<TcpStream>(loop_, pool_, *this);
    }
    if (stream) ++open_handles;
    return stream.get();
  }
  void onConnectPhase(ConnectPhase phase) override {
    events.emplace_back(std::string("phase ") + toString(phase));
  }
  void onConnectFailed(ConnectFailure /*failure*/, const std::string& error) override {
    events.emplace_back("failed " + error);
    if (stream) {
      stream->close();
      retired.push_back(std::move(stream));
    }
    if (on_failed) on_failed();
  }
  void onConnected() override {
    events.emplace_back("connected");
    finished = true;
  }
  uint64_t nowMs() const override { return uv_now(loop_); }

  void onStreamConnect(Stream& s, int status) override {
    if (&s == stream.get() && connector) connector->onStreamConnect(status, s.lastError());
  }
  void onStreamSecuring(Stream& s) override {
    if (&s == stream.get() && connector) connector->onStreamSecuring();
  }
  void onStreamData(Stream&, Block*, std::size_t) override {}
  void onStreamEnd(Stream&, int) override {}
  void onStreamDrained(Stream&) override {}
  void onStreamClosed(Stream&) override { --open_handles; }

  void closeAll() {
    if (stream && !stream->closing()) stream->close();
    for (auto& s : retired) {
      if (!s->closing()) s->close();
    }
  }

private:
  uv_loop_t* loop_;
  BufferPool& pool_;
  std::size_t next_ = 0;
};

config::Backend backendAt(const std::string& host, uint16_t port, bool tls = false) {
  return config::Backend{tls, {host, port}, (tls ? "wss://" : "ws://") + host};
}

class ConnectorTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    wheel_.emplace(uv_now(&loop_));
    listening_port_ = test::boundLoopbackPort(true, listener_);
    // A port nothing listens on: bound once, then released.
    int closed = -1;
    closed_port_ = test::boundLoopbackPort(false, closed);
    ::close(closed);
  }

  void TearDown() override {
    ::close(listener_);
    // Every lookup answered, every handle closed: the loop ends by itself.
    for (int i = 0; i < 1000 && uv_run(&loop_, UV_RUN_ONCE) != 0; ++i) {
    }
    EXPECT_EQ(uv_run(&loop_, UV_RUN_NOWAIT), 0);
    wheel_.reset();
    EXPECT_EQ(uv_loop_close(&loop_), 0);
    EXPECT_EQ(pool_.inUse(), 0U);
  }

  // Runs the loop until `done` (at most ~1000 iterations of at most 10 ms each).
  bool runUntil(const std::function<bool()>& done) { return test::runLoopUntil(loop_, done, 1000); }

  void closeAndWait(Owner& owner) {
    owner.closeAll();
    EXPECT_TRUE(runUntil([&] { return owner.open_handles == 0; }));
  }

  uv_loop_t loop_{};
  BufferPool pool_{0};
  std::optional<TimerWheel> wheel_;
  int listener_ = -1;
  uint16_t listening_port_ = 0;
  uint16_t closed_port_ = 0;
};

TEST_F(ConnectorTest, RefusedConnectGoesOnToTheNextBackend) {
  Owner owner(&loop_, pool_, &*wheel_);
  owner.backends = {backendAt("127.0.0.1", closed_port_), backendAt("localhost", listening_port_)};
  owner.connector->start(5000);
  ASSERT_TRUE(runUntil([&] { return owner.finished; }));
  // "localhost" counts as a literal: no lookup.
  const std::vector<std::string> expected{"phase connecting", "failed connection refused",
                                          "phase connecting", "connected"};
  EXPECT_EQ(owner.events, expected);
  EXPECT_EQ(owner.connector->phase(), ConnectPhase::Connected);
  EXPECT_EQ(owner.connector->backend(), &owner.backends[1]);
  EXPECT_EQ(wheel_->size(), 0U); // the timeout is disarmed once connected
  closeAndWait(owner);
}

TEST_F(ConnectorTest, EveryBackendRefusedEndsWithNothingLeft) {
  Owner owner(&loop_, pool_, &*wheel_);
  owner.backends = {backendAt("127.0.0.1", closed_port_), backendAt("127.0.0.1", closed_port_)};
  owner.connector->start(5000);
  ASSERT_TRUE(runUntil([&] { return owner.finished; }));
  const std::vector<std::string> expected{"phase connecting", "failed connection refused",
                                          "phase connecting", "failed connection refused",
                                          "exhausted"};
  EXPECT_EQ(owner.events, expected);
  EXPECT_EQ(owner.connector->phase(), ConnectPhase::Idle);
  EXPECT_EQ(wheel_->size(), 0U);
  closeAndWait(owner);
}

TEST_F(ConnectorTest, UnresolvableNameFailsWithTheDnsErrorThenTheNextBackend) {
  Owner owner(&loop_, pool_, &*wheel_);
  owner.backends = {backendAt(kUnresolvable, 80), backendAt("127.0.0.1", listening_port_)};
  owner.connector->start(5000);
  EXPECT_EQ(owner.connector->phase(), ConnectPhase::Resolving);
  ASSERT_TRUE(runUntil([&] { return owner.finished; }));
  ASSERT_EQ(owner.events.size(), 4U);
  EXPECT_EQ(owner.events[0], "phase resolving");
  const std::string prefix = "failed DNS: cannot resolve " + kUnresolvable + ": ";
  EXPECT_EQ(owner.events[1].substr(0, prefix.size()), prefix) << owner.events[1];
  EXPECT_GT(owner.events[1].size(), prefix.size()); // the resolver's reason follows
  EXPECT_EQ(owner.events[2], "phase connecting");
  EXPECT_EQ(owner.events[3], "connected");
  closeAndWait(owner);
}

TEST_F(ConnectorTest, TimeoutWhileResolvingDropsTheLateAnswer) {
  Owner owner(&loop_, pool_, &*wheel_);
  owner.backends = {backendAt(kUnresolvable, 80)};
  owner.connector->start(1000);
  ASSERT_EQ(wheel_->size(), 1U);
  // The wheel is driven by hand: the timeout fires before the loop ran the lookup's answer.
  wheel_->advance(uv_now(&loop_) + 1000 + TimerWheel::kTickMs);
  const std::vector<std::string> expected{
      "phase resolving", "failed connect timeout (no DNS answer for " + kUnresolvable + ")",
      "exhausted"};
  EXPECT_EQ(owner.events, expected);
  // The answer still comes back from the thread pool; nobody hears of it.
  for (int i = 0; i < 1000 && uv_run(&loop_, UV_RUN_ONCE) != 0; ++i) {
  }
  EXPECT_EQ(owner.events, expected);
}

TEST_F(ConnectorTest, OwnerGoneWhileResolvingNeverHearsTheAnswer) {
  Owner owner(&loop_, pool_, &*wheel_);
  owner.backends = {backendAt(kUnresolvable, 80)};
  owner.connector->start(1000);
  ASSERT_EQ(owner.connector->phase(), ConnectPhase::Resolving);
  owner.connector.reset(); // the owner gives up: lookup detached, timer disarmed
  EXPECT_EQ(wheel_->size(), 0U);
  for (int i = 0; i < 1000 && uv_run(&loop_, UV_RUN_ONCE) != 0; ++i) {
  }
  const std::vector<std::string> expected{"phase resolving"};
  EXPECT_EQ(owner.events, expected);
}

TEST_F(ConnectorTest, OwnerThatEndsTheConnectorOnFailureIsNotAskedAgain) {
  Owner owner(&loop_, pool_, &*wheel_);
  owner.backends = {backendAt("127.0.0.1", closed_port_), backendAt("127.0.0.1", listening_port_)};
  owner.on_failed = [&] {
    owner.connector.reset();
    owner.finished = true;
  };
  owner.connector->start(5000);
  ASSERT_TRUE(runUntil([&] { return owner.finished; }));
  const std::vector<std::string> expected{"phase connecting", "failed connection refused"};
  EXPECT_EQ(owner.events, expected);
  EXPECT_EQ(wheel_->size(), 0U);
  closeAndWait(owner);
}

// The listener never answers the ClientHello: TCP connects, the TLS handshake phase begins and
// the attempt's timeout ends it.
TEST_F(ConnectorTest, TlsBackendPassesThroughTheHandshakePhaseUntilTheTimeout) {
  config::Config config;
  config::Pool pool;
  pool.name = "backends";
  pool.backends.push_back(backendAt("localhost", listening_port_, true));
  config.pools.push_back(pool);
  std::string error;
  const auto contexts = buildTlsContexts(config, nullptr, error);
  ASSERT_NE(contexts, nullptr) << error;
  Owner owner(&loop_, pool_, &*wheel_);
  owner.tls = contexts->pool("backends");
  owner.backends = {pool.backends[0]};
  owner.connector->start(1000);
  ASSERT_TRUE(runUntil([&] { return owner.connector->phase() == ConnectPhase::TlsHandshake; }));
  wheel_->advance(uv_now(&loop_) + 1000 + TimerWheel::kTickMs);
  const std::vector<std::string> expected{"phase connecting", "phase tls_handshake",
                                          "failed connect timeout", "exhausted"};
  EXPECT_EQ(owner.events, expected);
  closeAndWait(owner);
}

} // namespace
} // namespace wsgate::proxy
