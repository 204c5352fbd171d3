#pragma once

// An in-memory SocketStream for unit tests of sessions: no socket, no libuv handle. The test is
// the peer: it injects bytes, EOF and errors, decides when queued writes reach the peer, and
// completes connects. Callbacks a libuv loop would run later (a close callback, reads resumed
// on a stream with bytes waiting) are posted to a MemoryLoop that the test runs.
#include "proxy/core/buffer_pool.h"
#include "proxy/transport/stream.h"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace wsgate::proxy::test {

// The callbacks a loop would run on its next iteration, in order. Single-threaded.
class MemoryLoop {
public:
  void post(std::function<void()> callback) { pending_.push_back(std::move(callback)); }
  // Runs posted callbacks, and those they post, until none is left (at most `limit`); returns
  // how many ran.
  std::size_t run(std::size_t limit = 100000);
  bool idle() const { return pending_.empty(); }

private:
  std::deque<std::function<void()>> pending_;
};

class MemoryStream;

// What happened to one stream, kept after the stream itself is destroyed (its owner deletes it
// after onStreamClosed). The test reads it and, through `stream`, acts as the peer.
struct StreamRecord {
  std::string name;               // "client", "backend#1": for messages
  MemoryStream* stream = nullptr; // null once the stream is destroyed
  // Every byte that reached the peer, in order (writes the peer has read).
  std::vector<uint8_t> delivered;
  std::string connect_address; // what connect() was given ("" before)
  std::string peer_address = "127.0.0.1:40000";
  std::string last_error;             // what lastError() reports
  int accept_status = 0;              // what accept() returns
  int connect_status = 0;             // what connect() returns
  unsigned start_reads = 0;           // calls that started reading
  unsigned stop_reads = 0;            // calls that stopped reading
  unsigned close_calls = 0;           // close() calls, including repeated ones
  bool no_delay = false;              // setNoDelay() was called
  bool fin_sent = false;              // shutdownWrite() ran and every queued write went out
  bool closed = false;                // onStreamClosed was reported
  bool destroyed = false;             // the owner deleted the stream
  bool destroyed_unclosed = false;    // ... before its handle was closed (a bug)
  std::size_t bytes_cancelled = 0;    // queued bytes dropped by close()
  unsigned writes_after_shutdown = 0; // writes refused after shutdownWrite() (a bug)

  std::string_view deliveredText() const {
    return {reinterpret_cast<const char*>(delivered.data()), delivered.size()};
  }
};

class MemoryStream final : public SocketStream {
public:
  MemoryStream(MemoryLoop& loop, BufferPool& pool, StreamEvents& events,
               std::shared_ptr<StreamRecord> record);
  ~MemoryStream() override;
  MemoryStream(const MemoryStream&) = delete;
  MemoryStream& operator=(const MemoryStream&) = delete;

  // SocketStream
  int accept(const AcceptedSocket& from) override;
  int connect(const sockaddr* address) override;
  void setNoDelay() override;
  int startRead() override;
  void stopRead() override;
  int writeBlock(Block* block, const uv_buf_t* bufs, unsigned count) override;
  int writeCopy(std::span<const uint8_t> bytes) override;
  using Stream::writeCopy;
  std::size_t queuedBytes() const override { return queued_bytes_; }
  void shutdownWrite() override;
  void close() override;
  bool closing() const override { return closing_; }
  std::string peerAddress() const override { return record_->peer_address; }
  std::string lastError() const override { return record_->last_error; }

  // The peer's side, driven by the test.
  // The peer sends `bytes`: delivered now while the stream reads (in reads of at most
  // readChunk() bytes, one block each), else kept until reading starts again.
  void peerSends(std::span<const uint8_t> bytes);
  void peerSends(std::string_view text) {
    peerSends(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  }
  // The peer's sending ends: UV_EOF for a FIN, another libuv error for a broken connection.
  // Reported after the bytes sent before it, once the stream reads.
  void peerEnds(int status);
  // Whether the peer reads: when it does not, writes queue up (queuedBytes() grows) until
  // peerReads().
  void setPeerReading(bool reading) { peer_reading_ = reading; }
  // The peer reads up to `max` queued bytes; each write completed reports onStreamDrained.
  void peerReads(std::size_t max = SIZE_MAX);
  // The connect started by connect() completes with `status` (0 or a libuv error).
  void completeConnect(int status);
  bool connecting() const { return connecting_; }
  void setReadChunk(std::size_t bytes) { read_chunk_ = bytes; }
  std::size_t inboundBytes() const { return inbound_.size(); }
  StreamRecord& record() { return *record_; }

private:
  // A write the peer has not read yet: a copy of its bytes, and a reference to the block they
  // came from (released when the write completes or is cancelled, as TcpStream does).
  struct QueuedWrite {
    std::vector<uint8_t> bytes;
    std::size_t done = 0;
    Block* block = nullptr;
  };

  int write(Block* block, const uv_buf_t* bufs, unsigned count);
  void deliverInbound();
  void scheduleDelivery();
  void cancelWrites();
  void onClosed();

  MemoryLoop& loop_;
  BufferPool& pool_;
  StreamEvents& events_;
  std::shared_ptr<StreamRecord> record_;
  std::deque<QueuedWrite> queue_;
  std::size_t queued_bytes_ = 0;
  std::deque<uint8_t> inbound_;
  int end_status_ = 0; // the peer's end, not reported yet (0: none)
  std::size_t read_chunk_ = kBlockSize;
  bool peer_reading_ = true;
  bool connecting_ = false;
  bool closing_ = false;
  bool shutdown_ = false;
  bool delivering_ = false;
  bool delivery_posted_ = false;
  bool ended_ = false; // onStreamEnd was reported
};

// Makes MemoryStreams and keeps the record of every one made.
class MemoryStreams {
public:
  MemoryStreams(MemoryLoop& loop, BufferPool& pool) : loop_(loop), pool_(pool) {}

  std::unique_ptr<MemoryStream> make(StreamEvents& events, std::string name);
  const std::vector<std::shared_ptr<StreamRecord>>& all() const { return records_; }
  // The last stream made with `name`, or nullptr.
  std::shared_ptr<StreamRecord> find(std::string_view name) const;
  // Every stream made so far has reported onStreamClosed and has been destroyed; otherwise
  // why not, for a test failure message.
  std::string whyNotAllClosed() const;

private:
  MemoryLoop& loop_;
  BufferPool& pool_;
  std::vector<std::shared_ptr<StreamRecord>> records_;
};

} // namespace wsgate::proxy::test
