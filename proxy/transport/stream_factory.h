#pragma once

#include "common/config/config.h"
#include "proxy/transport/stream.h"
#include "proxy/transport/tls_context.h"

#include <memory>
#include <string>

namespace wsgate::proxy {

class UringEngine;

// What streams are made from: the worker's loop, buffer pool and socket engine, and the TLS
// contexts of the newest configuration.
struct StreamContext {
  uv_loop_t* loop = nullptr;
  BufferPool* pool = nullptr;
  UringEngine* uring = nullptr;           // null with the epoll engine
  std::shared_ptr<const TlsContexts> tls; // null when no listener or pool uses TLS
};

// A TCP connection on the worker's engine: io_uring when `uring` is set, else libuv (epoll).
std::unique_ptr<SocketStream> makeSocketStream(uv_loop_t* loop, BufferPool& pool,
                                               UringEngine* uring, StreamEvents& events);

// The stream for a client connection accepted on `listener`: plain TCP, or TLS when the
// listener has a [listeners.tls] table. The caller accepts into stream->tcp(). Never null: the
// server refuses to start listeners it cannot serve (see listenerSupported).
std::unique_ptr<Stream> makeListenerStream(const StreamContext& context,
                                           const config::Config& config,
                                           const config::Listener& listener, StreamEvents& events);

// Empty when this build can serve `listener`; else why not.
std::string listenerSupported(const config::Listener& listener);

// The stream to `backend` of `pool`: plain TCP, or TLS for a wss:// backend. The caller
// connects stream->tcp(); onStreamConnect reports when the stream is ready for bytes. nullptr,
// with `error` set, when no such stream can be made.
std::unique_ptr<Stream> makeBackendStream(const StreamContext& context,
                                          const config::Config& config, const config::Pool& pool,
                                          const config::Backend& backend, StreamEvents& events,
                                          std::string& error);

} // namespace wsgate::proxy
