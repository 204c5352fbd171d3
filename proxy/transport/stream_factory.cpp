#include "proxy/transport/stream_factory.h"

#include "proxy/transport/tcp_stream.h"
#include "proxy/transport/tls_stream.h"
#include "proxy/transport/uring_stream.h"

namespace wsgate::proxy {

std::unique_ptr<SocketStream> makeSocketStream(uv_loop_t* loop, BufferPool& pool,
                                               UringEngine* uring, StreamEvents& events) {
  if (uring != nullptr) return std::make_unique<UringStream>(*uring, events);
  return std::make_unique<TcpStream>(loop, pool, events);
}

std::unique_ptr<Stream> makeListenerStream(const StreamContext& context,
                                           const config::Config& config,
                                           const config::Listener& listener, StreamEvents& events) {
  if (listener.tls) {
    // Listeners keep their index across reloads; the contexts are those of the newest config.
    const auto index = static_cast<std::size_t>(&listener - config.listeners.data());
    if (auto tls = context.tls ? context.tls->listener(index) : nullptr) {
      if (auto stream = TlsStream::server(context.loop, *context.pool, events, std::move(tls),
                                          listener.name, context.uring)) {
        return stream;
      }
    }
    // No context (a reload just turned TLS off on this listener) or no memory for one: the
    // handshake of this one connection fails on plain TCP, never the process.
  }
  return makeSocketStream(context.loop, *context.pool, context.uring, events);
}

std::string listenerSupported(const config::Listener&) {
  return "";
}

std::unique_ptr<Stream> makeBackendStream(const StreamContext& context, const config::Config&,
                                          const config::Pool& pool, const config::Backend& backend,
                                          StreamEvents& events, std::string& error) {
  if (!backend.tls) return makeSocketStream(context.loop, *context.pool, context.uring, events);
  auto tls = context.tls ? context.tls->pool(pool.name) : nullptr;
  if (!tls) {
    // Only when a reload removed every wss:// backend of this pool since the session began.
    error = "no TLS context for pool '" + pool.name + "' (the configuration changed)";
    return nullptr;
  }
  return TlsStream::client(context.loop, *context.pool, events, std::move(tls), backend, pool.name,
                           error, context.uring);
}

} // namespace wsgate::proxy
