#pragma once

#include "common/config/values.h"

#include <functional>
#include <memory>
#include <string>
#include <uv.h>

namespace wsgate::proxy {

// The admin HTTP server on the main loop: reads one GET or HEAD request per connection, asks the
// handler for the answer (Server::adminResponse serves /metrics, /livez, /healthz, /readyz,
// /connections, /stats.json and the status page) and closes the connection after it.
//
// Bounded, so that idle or slow admin clients cannot hold descriptors the data path needs:
// at most Limits::max_connections are open at once (one over it is closed as soon as it is
// accepted, without an answer), and each has Limits::request_timeout to send its request head
// (then 408 if some of it came, else a plain close) and again as long to take the answer.
class AdminServer {
public:
  struct Limits {
    uint64_t request_timeout_ms = 10000; // > 0
    std::size_t max_connections = 64;    // >= 1
  };
  struct Response {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
  };
  // Produces the answer for a path (the target without its query) and the query string.
  using Handler = std::function<Response(std::string_view path, std::string_view query)>;

  AdminServer(uv_loop_t* loop, Handler handler, Limits limits);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and listens; returns 0 or a libuv error. `bound` gets the actual address.
  int listen(const config::Address& address, std::string& bound);
  // Stops listening and closes open admin connections.
  void close();
  // Applies to connections accepted from now on (a reload).
  void setLimits(Limits limits) { limits_ = limits; }

private:
  struct Connection;
  static void onConnection(uv_stream_t* server, int status);

  uv_loop_t* loop_;
  Handler handler_;
  Limits limits_;
  std::size_t open_connections_ = 0; // accepted and not yet freed
  uint64_t full_warned_ms_ = 0;      // last admin_connections_full warning (uv_now)
  uv_tcp_t server_{};
  bool listening_ = false;
  bool closed_ = false;
  Connection* connections_ = nullptr; // intrusive list of open connections
};

} // namespace wsgate::proxy
