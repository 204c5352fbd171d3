#pragma once

#include "common/config/values.h"

#include <functional>
#include <memory>
#include <string>
#include <uv.h>

namespace wsgate::proxy {

// The admin HTTP server on the main loop: reads one GET or HEAD request per connection, asks the
// handler for the answer (Server::adminResponse serves /metrics, /livez, /healthz, /readyz,
// /connections and an index) and closes the connection after it.
class AdminServer {
public:
  struct Response {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
  };
  // Produces the answer for a path (the target without its query) and the query string.
  using Handler = std::function<Response(std::string_view path, std::string_view query)>;

  AdminServer(uv_loop_t* loop, Handler handler);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and listens; returns 0 or a libuv error. `bound` gets the actual address.
  int listen(const config::Address& address, std::string& bound);
  // Stops listening and closes open admin connections.
  void close();

private:
  struct Connection;
  static void onConnection(uv_stream_t* server, int status);

  uv_loop_t* loop_;
  Handler handler_;
  uv_tcp_t server_{};
  bool listening_ = false;
  bool closed_ = false;
  Connection* connections_ = nullptr; // intrusive list of open connections
};

} // namespace wsgate::proxy
