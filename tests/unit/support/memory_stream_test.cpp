// The in-memory stream the session tests stand on: reads, writes, backpressure and close
// behave as TcpStream's do, and every block it takes goes back to the pool.
#include "tests/unit/support/memory_stream.h"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace wsgate::proxy::test {
namespace {

struct Events final : StreamEvents {
  void onStreamConnect(Stream&, int status) override {
    log.push_back("connect " + std::to_string(status));
  }
  void onStreamData(Stream&, Block* block, std::size_t length) override {
    log.push_back("data " + std::string(reinterpret_cast<const char*>(block->data.data()), length));
  }
  void onStreamEnd(Stream&, int status) override { log.push_back("end " + std::to_string(status)); }
  void onStreamDrained(Stream& stream) override {
    log.push_back("drained " + std::to_string(stream.queuedBytes()));
  }
  void onStreamClosed(Stream&) override {
    log.emplace_back("closed");
    owned.reset();
  }
  std::vector<std::string> log;
  std::unique_ptr<MemoryStream> owned;
};

struct MemoryStreamTest : ::testing::Test {
  MemoryLoop loop;
  BufferPool pool;
  MemoryStreams streams{loop, pool};
  Events events;

  MemoryStream& make() {
    events.owned = streams.make(events, "s");
    return *events.owned;
  }
};

TEST_F(MemoryStreamTest, BytesWaitUntilReadingAndArriveInChunks) {
  MemoryStream& s = make();
  s.setReadChunk(3);
  s.peerSends(std::string_view("abcdefg"));
  s.peerEnds(UV_EOF);
  EXPECT_TRUE(events.log.empty());
  s.startRead();
  EXPECT_TRUE(events.log.empty()) << "delivered on the loop's next turn, not inside startRead";
  loop.run();
  EXPECT_EQ(events.log, (std::vector<std::string>{"data abc", "data def", "data g",
                                                  "end " + std::to_string(UV_EOF)}));
  EXPECT_FALSE(s.reading());
  EXPECT_EQ(pool.inUse(), 0u);
  s.close();
  loop.run();
  EXPECT_EQ(streams.whyNotAllClosed(), "");
}

TEST_F(MemoryStreamTest, WritesQueueWhileThePeerDoesNotReadAndHoldTheirBlock) {
  MemoryStream& s = make();
  s.setPeerReading(false);
  Block* block = pool.acquire();
  block->data[0] = 'x';
  uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(block->data.data()), 1);
  EXPECT_EQ(s.writeBlock(block, &buf, 1), 0);
  EXPECT_EQ(s.writeCopy(std::string_view("yz")), 0);
  pool.release(block);
  EXPECT_EQ(pool.inUse(), 1u) << "the queued write holds the block";
  EXPECT_EQ(s.queuedBytes(), 3u);
  EXPECT_EQ(s.bytesWritten(), 3u);
  s.peerReads(2);
  EXPECT_EQ(events.log, (std::vector<std::string>{"drained 2"}));
  EXPECT_EQ(pool.inUse(), 0u);
  EXPECT_EQ(s.record().deliveredText(), "xy");
  s.shutdownWrite();
  EXPECT_FALSE(s.record().fin_sent) << "the FIN follows the queued bytes";
  s.peerReads();
  EXPECT_TRUE(s.record().fin_sent);
  EXPECT_EQ(s.record().deliveredText(), "xyz");
  s.close();
  loop.run();
  EXPECT_EQ(streams.whyNotAllClosed(), "");
}

TEST_F(MemoryStreamTest, CloseCancelsQueuedWritesAndReportsLater) {
  MemoryStream& s = make();
  s.setPeerReading(false);
  s.writeCopy(std::string_view("abc"));
  s.startRead();
  s.close();
  EXPECT_TRUE(s.closing());
  EXPECT_FALSE(s.reading());
  EXPECT_EQ(s.writeCopy(std::string_view("d")), UV_EPIPE);
  EXPECT_TRUE(events.log.empty());
  loop.run();
  EXPECT_EQ(events.log, (std::vector<std::string>{"closed"}));
  const auto record = streams.find("s");
  EXPECT_EQ(record->bytes_cancelled, 3u);
  EXPECT_EQ(streams.whyNotAllClosed(), "");
}

TEST_F(MemoryStreamTest, ConnectCompletesOnTheTestsCommandUnlessClosed) {
  MemoryStream& s = make();
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(9001);
  address.sin_addr.s_addr = htonl(0x7f000001);
  EXPECT_EQ(s.connect(reinterpret_cast<const sockaddr*>(&address)), 0);
  EXPECT_EQ(s.record().connect_address, "127.0.0.1:9001");
  s.completeConnect(0);
  EXPECT_EQ(events.log, (std::vector<std::string>{"connect 0"}));
  s.close();
  loop.run();
  EXPECT_EQ(streams.whyNotAllClosed(), "");
}

} // namespace
} // namespace wsgate::proxy::test
