#pragma once

#include "proxy/transport/stream.h"

#include <uv.h>

namespace wsgate::proxy {

// A Stream over a uv_tcp_t. The handle is freed only in its close callback; the owner must
// keep the object alive until onStreamClosed.
class TcpStream final : public SocketStream {
public:
  TcpStream(uv_loop_t* loop, BufferPool& pool, StreamEvents& events);
  ~TcpStream() override = default;
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;

  uv_tcp_t* handle() { return &tcp_; }
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp_); }
  // Accepts a pending connection from `from.server`.
  int accept(const AcceptedSocket& from) override;
  int connect(const sockaddr* address) override;
  void setNoDelay() override;

  int startRead() override;
  void stopRead() override;
  int writeBlock(Block* block, const uv_buf_t* bufs, unsigned count) override;
  int writeCopy(std::span<const uint8_t> bytes) override;
  using Stream::writeCopy;
  std::size_t queuedBytes() const override { return tcp_.write_queue_size; }
  void shutdownWrite() override;
  void close() override;
  std::string peerAddress() const override;

private:
  struct WriteRequest;
  static void onAlloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);
  static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void onWrite(uv_write_t* req, int status);
  static void onConnect(uv_connect_t* req, int status);
  static void onShutdown(uv_shutdown_t* req, int status);
  static void onClose(uv_handle_t* handle);
  int queue(WriteRequest* request, const uv_buf_t* bufs, unsigned count);
  void pickTrigger(std::size_t nread);
  void setTrigger(bool edge);

  uv_tcp_t tcp_{};
  // Connect and shutdown requests are allocated when made and freed in their callbacks (which
  // libuv runs before the close callback), so an idle stream carries neither.
  BufferPool& pool_;
  StreamEvents& events_;
  Block* reading_block_ = nullptr; // handed to libuv by onAlloc, taken back in onRead
  bool shutting_down_ = false;
  bool edge_ = false;       // libuv's epoll registration switched to edge-triggered
  uint8_t full_reads_ = 0;  // reads in a row that filled a whole block
  uint8_t short_reads_ = 0; // short reads so far, up to kShortReadsBeforeEdge
};

} // namespace wsgate::proxy
