#include "proxy/transport/stream_factory.h"

#include "proxy/server/worker.h"
#include "proxy/transport/tcp_stream.h"
#include "proxy/transport/tls_stream.h"
#include "proxy/transport/uring_stream.h"

namespace wsgate::proxy {

std::unique_ptr<SocketStream> makeSocketStream(uv_loop_t* loop, BufferPool& pool,
                                               UringEngine* uring, StreamEvents& events) {
  if (uring != nullptr) return std::make_unique<UringStream>(*uring, events);
  return std::make_unique<TcpStream>(loop, pool, events);
}

std::unique_ptr<Stream> makeListenerStream(Worker& worker, const config::Config& config,
                                           const config::Listener& listener, StreamEvents& events) {
  if (listener.tls) {
    // Listeners keep their index across reloads; the contexts are those of the newest config.
    const auto index = static_cast<std::size_t>(&listener - config.listeners.data());
    const auto contexts = worker.shared().tls();
    if (auto tls = contexts ? contexts->listener(index) : nullptr) {
      if (auto stream = TlsStream::server(worker.loop(), worker.pool(), events, std::move(tls),
                                          listener.name, worker.uring())) {
        return stream;
      }
    }
    // No context (a reload just turned TLS off on this listener) or no memory for one: the
    // handshake of this one connection fails on plain TCP, never the process.
  }
  return makeSocketStream(worker.loop(), worker.pool(), worker.uring(), events);
}

std::string listenerSupported(const config::Listener&) {
  return "";
}

std::unique_ptr<Stream> makeBackendStream(Worker& worker, const config::Config&,
                                          const config::Pool& pool, const config::Backend& backend,
                                          StreamEvents& events, std::string& error) {
  if (!backend.tls) return makeSocketStream(worker.loop(), worker.pool(), worker.uring(), events);
  const auto contexts = worker.shared().tls();
  auto tls = contexts ? contexts->pool(pool.name) : nullptr;
  if (!tls) {
    // Only when a reload removed every wss:// backend of this pool since the session began.
    error = "no TLS context for pool '" + pool.name + "' (the configuration changed)";
    return nullptr;
  }
  return TlsStream::client(worker.loop(), worker.pool(), events, std::move(tls), backend, pool.name,
                           error, worker.uring());
}

} // namespace wsgate::proxy
