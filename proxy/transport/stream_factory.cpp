#include "proxy/transport/stream_factory.h"

#include "proxy/server/worker.h"
#include "proxy/transport/tcp_stream.h"

namespace wsgate::proxy {

std::unique_ptr<Stream> makeListenerStream(Worker& worker, const config::Config&,
                                           const config::Listener& listener, StreamEvents& events) {
  (void)listener;
  return std::make_unique<TcpStream>(worker.loop(), worker.pool(), events);
}

std::string listenerSupported(const config::Listener& listener) {
  if (listener.tls) return "TLS termination ([listeners.tls]) is not supported by this build";
  return "";
}

std::unique_ptr<Stream> makeBackendStream(Worker& worker, const config::Config&,
                                          const config::Pool&, const config::Backend& backend,
                                          StreamEvents& events, std::string& error) {
  if (backend.tls) {
    error = "TLS to backends (wss://) is not supported by this build";
    return nullptr;
  }
  return std::make_unique<TcpStream>(worker.loop(), worker.pool(), events);
}

} // namespace wsgate::proxy
