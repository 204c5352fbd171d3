// UringStream on a real io_uring ring over real loopback sockets: the contract TcpStream keeps
// (no data after stopRead, held data delivered in order after startRead, the end reported
// after the data, writes in order, close reported once nothing is in flight, every handle
// closed and every block back in the pool at the end). Skipped where io_uring is refused.
#include "proxy/core/buffer_pool.h"
#include "proxy/transport/uring_engine.h"
#include "proxy/transport/uring_stream.h"
#include "tests/unit/support/uring_fixture.h"

#include <arpa/inet.h>
#include <functional>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace wsgate::proxy {
namespace {

struct Recorder final : StreamEvents {
  int connect_status = 1;
  std::string data;
  int end_status = 0;
  int drained = 0;
  bool closed = false;
  std::function<void()> on_data;
  void onStreamConnect(Stream&, int status) override { connect_status = status; }
  void onStreamData(Stream&, Block* block, std::size_t length) override {
    data.append(reinterpret_cast<const char*>(block->data.data()), length);
    if (on_data) on_data();
  }
  void onStreamEnd(Stream&, int status) override { end_status = status; }
  void onStreamDrained(Stream&) override { ++drained; }
  void onStreamClosed(Stream&) override { closed = true; }
};

class UringStreamTest : public test::UringLoopTest {
protected:
  void SetUp() override {
    test::UringLoopTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    address_.sin_family = AF_INET;
    address_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address_;
    ASSERT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&address_), length), 0);
    ASSERT_EQ(::listen(listener_, 4), 0);
    ASSERT_EQ(::getsockname(listener_, reinterpret_cast<sockaddr*>(&address_), &length), 0);
  }

  void TearDown() override {
    if (!engine_) return;
    if (peer_ >= 0) ::close(peer_);
    ::close(listener_);
    engine_->closeWhenIdle();
    engine_->run();
    engine_.reset();
    EXPECT_EQ(uv_loop_close(&loop_), 0);
    EXPECT_EQ(pool_.inUse(), 0U);
  }

  // Runs the loop until `done` (at most ~2000 iterations of at most 10 ms each).
  bool runUntil(const std::function<bool()>& done) {
    for (int i = 0; i < 2000 && !done(); ++i)
      engine_->runOnce(10);
    return done();
  }

  // A stream connected to the listener; peer_ is the accepted end.
  std::unique_ptr<UringStream> connected(Recorder& events) {
    auto stream = std::make_unique<UringStream>(*engine_, events);
    EXPECT_EQ(stream->connect(reinterpret_cast<const sockaddr*>(&address_)), 0);
    EXPECT_TRUE(runUntil([&] { return events.connect_status != 1; }));
    EXPECT_EQ(events.connect_status, 0);
    peer_ = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    EXPECT_GE(peer_, 0);
    return stream;
  }

  // Reads what the peer has without waiting; true once the peer saw the stream's FIN.
  bool peerReadSome(std::string& into) {
    char buffer[4096];
    for (;;) {
      const ssize_t n = ::recv(peer_, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n == 0) return true;
      if (n < 0) return false;
      into.append(buffer, static_cast<std::size_t>(n));
    }
  }

  int listener_ = -1;
  int peer_ = -1;
  sockaddr_in address_{};
};

TEST_F(UringStreamTest, WritesInOrderAndReadsUntilTheEnd) {
  Recorder events;
  auto stream = connected(events);
  ASSERT_EQ(stream->writeCopy(std::string_view("hello, ")), 0);
  Block* block = pool_.acquire();
  const std::string_view world = "world";
  std::copy(world.begin(), world.end(), block->data.begin());
  uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(block->data.data()), 5);
  ASSERT_EQ(stream->writeBlock(block, &buf, 1), 0);
  pool_.release(block); // the stream keeps its own reference until the bytes are sent
  EXPECT_EQ(stream->queuedBytes(), 12U);
  std::string got;
  ASSERT_TRUE(runUntil([&] {
    peerReadSome(got);
    return got.size() >= 12;
  }));
  EXPECT_EQ(got, "hello, world");
  EXPECT_EQ(stream->queuedBytes(), 0U);
  EXPECT_GE(events.drained, 1);

  ASSERT_EQ(stream->startRead(), 0);
  ASSERT_EQ(::send(peer_, "abc", 3, 0), 3);
  ASSERT_EQ(::shutdown(peer_, SHUT_WR), 0);
  ASSERT_TRUE(runUntil([&] { return events.end_status != 0; }));
  EXPECT_EQ(events.data, "abc");
  EXPECT_EQ(events.end_status, UV_EOF);
  EXPECT_FALSE(stream->reading());

  stream->close();
  EXPECT_FALSE(events.closed); // never from close() itself
  ASSERT_TRUE(runUntil([&] { return events.closed; }));
}

TEST_F(UringStreamTest, NothingIsReportedAfterStopReadUntilStartRead) {
  Recorder events;
  auto stream = connected(events);
  ASSERT_EQ(stream->startRead(), 0);
  // The first bytes stop the reader, as backpressure does.
  events.on_data = [&] { stream->stopRead(); };
  ASSERT_EQ(::send(peer_, "first", 5, 0), 5);
  ASSERT_TRUE(runUntil([&] { return !events.data.empty(); }));
  EXPECT_EQ(events.data, "first");
  events.on_data = nullptr;
  ASSERT_EQ(::send(peer_, "second", 6, 0), 6);
  ASSERT_EQ(::shutdown(peer_, SHUT_WR), 0);
  // The receive is cancelled (nothing of the stream is in flight any more); what came after it
  // stays in the socket or is held, and is not reported.
  ASSERT_TRUE(runUntil([&] { return engine_->operationsInFlight() == 0; }));
  EXPECT_EQ(events.data, "first");
  EXPECT_EQ(events.end_status, 0);
  ASSERT_EQ(stream->startRead(), 0);
  ASSERT_TRUE(runUntil([&] { return events.end_status != 0; }));
  EXPECT_EQ(events.data, "firstsecond");
  EXPECT_EQ(events.end_status, UV_EOF);
  stream->close();
  ASSERT_TRUE(runUntil([&] { return events.closed; }));
}

TEST_F(UringStreamTest, ShutdownWriteSendsTheQueueThenTheFin) {
  Recorder events;
  auto stream = connected(events);
  ASSERT_EQ(stream->writeCopy(std::string_view("last words")), 0);
  stream->shutdownWrite();
  EXPECT_EQ(stream->writeCopy(std::string_view("too late")), UV_EPIPE);
  std::string got;
  ASSERT_TRUE(runUntil([&] { return peerReadSome(got); })); // until the FIN
  EXPECT_EQ(got, "last words");
  stream->close();
  ASSERT_TRUE(runUntil([&] { return events.closed; }));
}

TEST_F(UringStreamTest, ACloseWhileConnectingIsNotReportedAsAConnect) {
  Recorder events;
  auto stream = std::make_unique<UringStream>(*engine_, events);
  // Closed before the loop submits the connect: it is cancelled or completes, unreported.
  ASSERT_EQ(stream->connect(reinterpret_cast<const sockaddr*>(&address_)), 0);
  stream->close();
  ASSERT_TRUE(runUntil([&] { return events.closed; }));
  EXPECT_EQ(events.connect_status, 1);
}

} // namespace
} // namespace wsgate::proxy
