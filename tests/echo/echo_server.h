#pragma once

#include "tests/echo/byte_buffer.h"

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <uv.h>

namespace wsgate::echo {

class Connection;

// The bytes a read lands in. One per loop: libuv calls alloc and read back to back for one
// stream, and a read is processed completely before the callback returns.
inline constexpr std::size_t kReadBufferSize = std::size_t{64} * 1024;

// The echo server of one libuv loop: the listener, the SIGINT/SIGTERM handlers, every live
// connection, and the buffers the connections share.
//
// Lifetime: the Server's handles are members and are freed when the Server is, which must
// not happen before their close callbacks ran (run the loop until it has no handles left:
// ~Server checks). Connections are owned here and destroyed only from their last close
// callback, through release().
class Server {
public:
  explicit Server(uv_loop_t* loop);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port (port 0: ephemeral), listens and installs the signal handlers. On success
  // `bound` is "host:port" with the real port. Returns 0 or a libuv error; after an error the
  // caller calls stop() and runs the loop to close what was opened.
  int start(const std::string& host, int port, std::string& bound);
  // Closes the listener, the signal handlers and every connection. Idempotent.
  void stop();

  // --deflate: accept a permessage-deflate offer (reflecting its no_context_takeover flags) and
  // echo compressed frames as they came, RSV1 included. The echo does not inflate, so a client
  // must compress each message on its own (as the benchmark generator does).
  bool accept_deflate = false;

  uv_loop_t* loop() const { return loop_; }
  uv_buf_t readBuffer() {
    return uv_buf_init(reinterpret_cast<char*>(read_buffer_.get()), kReadBufferSize);
  }
  // Scratch space for the bytes one callback sends. Empty between callbacks.
  ByteBuffer& scratch() { return scratch_; }
  // Destroys `connection`; called from its last close callback only.
  void release(Connection* connection);

private:
  static void onConnection(uv_stream_t* listener, int status);
  static void onSignal(uv_signal_t* handle, int signum);
  static void onHandleClosed(uv_handle_t* handle);
  void closeHandle(uv_handle_t* handle);

  uv_loop_t* loop_;
  uv_tcp_t listener_{};
  uv_signal_t sigint_{};
  uv_signal_t sigterm_{};
  // Handles of this object initialized and not yet through their close callback.
  int open_handles_ = 0;
  bool stopping_ = false;
  std::list<std::unique_ptr<Connection>> connections_;
  std::unique_ptr<uint8_t[]> read_buffer_;
  ByteBuffer scratch_;
};

} // namespace wsgate::echo
