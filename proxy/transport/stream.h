#pragma once

#include "proxy/core/buffer_pool.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <uv.h>

namespace wsgate::proxy {

class Stream;
class SocketStream;

// What a stream reports to its owner (the session). Every callback runs on the worker's loop.
class StreamEvents {
public:
  // connect() finished: status 0 or a libuv error.
  virtual void onStreamConnect(Stream& stream, int status) = 0;
  // A TLS client stream's TCP connect succeeded and its handshake starts; onStreamConnect
  // follows when the handshake is done.
  virtual void onStreamSecuring(Stream& /*stream*/) {}
  // Bytes arrived in `block` [0, length). The stream releases its reference after the call;
  // keep the block with BufferPool::ref.
  virtual void onStreamData(Stream& stream, Block* block, std::size_t length) = 0;
  // The peer finished sending (UV_EOF) or the connection failed (another libuv error).
  virtual void onStreamEnd(Stream& stream, int status) = 0;
  // A queued write completed; queuedBytes() has dropped.
  virtual void onStreamDrained(Stream& stream) = 0;
  // The stream's handle is closed; the stream may be destroyed now.
  virtual void onStreamClosed(Stream& stream) = 0;

protected:
  ~StreamEvents() = default;
};

// A byte stream over a connection, plain TCP or TLS (which implements the same interface over
// a TCP stream). Writes keep their order; a write may complete at once or be queued.
class Stream {
public:
  virtual ~Stream() = default;

  virtual int startRead() = 0;
  virtual void stopRead() = 0;
  bool reading() const { return reading_; }

  // Sends bytes that live in `block` (the stream takes a reference until they are written).
  virtual int writeBlock(Block* block, const uv_buf_t* bufs, unsigned count) = 0;
  // Sends a copy of `bytes`: for the small frames and responses wsgate writes itself.
  virtual int writeCopy(std::span<const uint8_t> bytes) = 0;
  int writeCopy(std::string_view text) {
    return writeCopy(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  }
  // Bytes accepted by write*() and not yet handed to the kernel.
  virtual std::size_t queuedBytes() const = 0;
  // Half-closes after every queued write has gone out.
  virtual void shutdownWrite() = 0;
  // Closes the connection now; onStreamClosed follows.
  virtual void close() = 0;
  virtual bool closing() const = 0;
  // "127.0.0.1:5555", for logs.
  virtual std::string peerAddress() const = 0;
  // The TCP connection underneath (the stream itself for plain TCP): for accept, connect and
  // socket options.
  virtual SocketStream& tcp() = 0;
  // Why the connection failed below the bytes it carries (a TLS handshake or record error), for
  // logs; "" when it did not, and always "" for plain TCP.
  virtual std::string lastError() const { return ""; }
  // Every byte accepted by write*() so far.
  uint64_t bytesWritten() const { return bytes_written_; }

protected:
  bool reading_ = false;
  uint64_t bytes_written_ = 0;
};

// A connection a worker's listener accepted: libuv's listener (epoll engine) has it pending
// on `server`; the io_uring engine accepted it already into `fd`.
struct AcceptedSocket {
  uv_stream_t* server = nullptr;
  int fd = -1;
};

// A TCP connection driven by one of the worker's socket engines (libuv's epoll loop, or the
// worker's io_uring ring). Sessions and TLS see only this interface and Stream.
class SocketStream : public Stream {
public:
  // Takes the accepted connection; 0 or a libuv error (the stream must then be closed).
  virtual int accept(const AcceptedSocket& from) = 0;
  // Starts connecting; onStreamConnect reports the result.
  virtual int connect(const sockaddr* address) = 0;
  virtual void setNoDelay() = 0;
  SocketStream& tcp() override { return *this; }
};

} // namespace wsgate::proxy
