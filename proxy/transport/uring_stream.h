#pragma once

#include "proxy/transport/stream.h"
#include "proxy/transport/uring_engine.h"

#include <memory>
#include <sys/socket.h>
#include <vector>

namespace wsgate::proxy {

// A SocketStream driven by the worker's io_uring ring (UringEngine): a multishot receive into
// the engine's buffer ring while reading, one send (of every queued block, without a copy) in
// flight at a time, connect, shutdown and close as ring operations. It keeps SocketStream's
// contract: completions of a receive that were already on their way at stopRead() are held and
// delivered after the next startRead(), and onStreamClosed waits for every ring operation.
class UringStream final : public SocketStream, private UringOwner {
public:
  UringStream(UringEngine& engine, StreamEvents& events);
  ~UringStream() override;
  UringStream(const UringStream&) = delete;
  UringStream& operator=(const UringStream&) = delete;

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
  std::string peerAddress() const override;

private:
  // The operations of a stream (the low bits of user_data).
  enum Op : unsigned { Recv, Send, Connect, Cancel, Close, FinalSend };
  // Bytes to send: a range of a pool block (referenced), or of a copy the chunk owns.
  struct Chunk {
    Block* block = nullptr;
    std::unique_ptr<uint8_t[]> copy;
    const uint8_t* data = nullptr;
    std::size_t length = 0;
  };
  struct Received {
    Block* block;
    std::size_t length;
  };
  static constexpr unsigned kMaxIov = 64;

  void onCompletion(unsigned op, int result, unsigned flags) override;
  void runScheduled() override;
  void onReceived(int result, unsigned flags);
  void onSent(int result);
  void armReceive();
  void deliverHeld();
  void enqueue(Chunk chunk);
  unsigned gather(); // fills iov_ from the queue; returns how many entries
  void sendQueued();
  void consume(std::size_t bytes);
  void dropQueue();
  void finishClose();
  void maybeClosed();
  uint64_t userData(Op op) const;

  UringEngine& engine_;
  StreamEvents& events_;
  int fd_ = -1;
  std::vector<Chunk> queue_;     // unsent bytes, in order; the front may be partly sent
  std::size_t head_sent_ = 0;    // bytes of queue_.front() already sent
  std::size_t queued_bytes_ = 0; // the bytes of queue_ not yet sent
  std::vector<iovec> iov_;       // the in-flight send's ranges (kept until it completes)
  msghdr message_{};
  std::vector<Received> held_;                        // data received after stopRead(), in order
  std::unique_ptr<sockaddr_storage> connect_address_; // while a connect is in flight
  int end_status_ = 0;          // how reading ended (UV_EOF or an error), once ended_
  int write_error_ = 0;         // the first send failure
  unsigned operations_ = 0;     // operations in flight
  bool ended_ = false;          // the receive side ended
  bool end_held_ = false;       // ended_ but not yet reported (the owner was not reading)
  bool receiving_ = false;      // a multishot receive is armed
  bool recv_cancelled_ = false; // and a cancel of it was asked for
  bool sending_ = false;        // a send is in flight
  bool shutdown_wanted_ = false;
  bool shutdown_sent_ = false;
  bool close_started_ = false; // the cancel-send-close chain was prepared
  bool closed_ = false;        // the ring closed the descriptor (or there was none)
};

} // namespace wsgate::proxy
