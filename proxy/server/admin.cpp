#include "proxy/server/admin.h"

#include "common/http/error_response.h"
#include "common/http/parser.h"
#include "proxy/core/logger.h"
#include "proxy/transport/address.h"

#include <chrono>
#include <string>

namespace wsgate::proxy {

// One admin client: read a request head, answer, close. Two handles (the socket and its
// deadline timer); the Connection is freed when the second of them has closed.
struct AdminServer::Connection {
  uv_tcp_t tcp{};
  uv_timer_t timer{};
  AdminServer* server = nullptr;
  Connection* prev = nullptr;
  Connection* next = nullptr;
  http::RequestParser parser;
  char buffer[4096];
  std::string response;
  uv_write_t write{};
  uint64_t timeout_ms = 0;  // Limits::request_timeout_ms when accepted
  std::size_t received = 0; // bytes of the request so far
  int open_handles = 0;
  bool answering = false; // the answer (or a 408) is being written
  bool closing = false;

  void unlink() {
    if (prev != nullptr) prev->next = next;
    if (next != nullptr) next->prev = prev;
    if (server->connections_ == this) server->connections_ = next;
    prev = next = nullptr;
  }

  static void onHandleClosed(uv_handle_t* handle) {
    auto* self = static_cast<Connection*>(handle->data);
    if (--self->open_handles > 0) return;
    self->unlink();
    --self->server->open_connections_;
    delete self;
  }

  void close() {
    if (closing) return;
    closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp), &onHandleClosed);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer), &onHandleClosed);
  }

  // The deadline: for the request head first, then, from the answer on, for writing it.
  void armTimer(uint64_t delay_ms) {
    uv_timer_start(
        &timer, [](uv_timer_t* handle) { static_cast<Connection*>(handle->data)->onTimeout(); },
        delay_ms, 0);
  }

  void onTimeout() {
    if (answering || received == 0) {
      close(); // a silent client, or one that does not take its answer: nothing to say
      return;
    }
    send(http::buildErrorResponse(
        408, "the request head was not complete within " +
                 config::formatDuration(std::chrono::milliseconds(timeout_ms)) + "\n"));
  }

  void send(std::string text) {
    answering = true;
    armTimer(timeout_ms);
    response = std::move(text);
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp));
    uv_buf_t buf = uv_buf_init(response.data(), static_cast<unsigned>(response.size()));
    write.data = this;
    const int rc =
        uv_write(&write, reinterpret_cast<uv_stream_t*>(&tcp), &buf, 1,
                 [](uv_write_t* req, int) { static_cast<Connection*>(req->data)->close(); });
    if (rc != 0) close();
  }

  void onData(const char* data, std::size_t size) {
    if (answering) return;
    received += size;
    const auto result = parser.feed(std::span(reinterpret_cast<const uint8_t*>(data), size));
    if (result.status == http::ParseStatus::NeedMore) return;
    if (result.status == http::ParseStatus::Error) {
      send(http::buildErrorResponse(parser.error().http_status,
                                    std::string(parser.error().reason) + "\n"));
      return;
    }
    const http::Request& request = parser.request();
    if (request.method != "GET" && request.method != "HEAD") {
      send(http::buildErrorResponse(405, "admin endpoints answer GET\n", {{{"Allow", "GET"}}}));
      return;
    }
    const std::string_view target = request.target;
    const std::size_t q = target.find('?');
    const std::string_view path = target.substr(0, q);
    const std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);
    const Response answer = server->handler_(path, query);
    std::string out = "HTTP/1.1 " + std::to_string(answer.status) + " " +
                      std::string(http::statusReason(answer.status)) + "\r\n";
    out += "Content-Type: " + answer.content_type + "\r\n";
    out += "Content-Length: " + std::to_string(answer.body.size()) + "\r\n";
    out += "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
    if (request.method != "HEAD") out += answer.body;
    send(std::move(out));
  }
};

AdminServer::AdminServer(uv_loop_t* loop, Handler handler, Limits limits)
    : loop_(loop), handler_(std::move(handler)), limits_(limits) {}

AdminServer::~AdminServer() = default;

int AdminServer::listen(const config::Address& address, std::string& bound) {
  sockaddr_storage storage{};
  if (!literalSockaddr(address, storage)) return UV_EINVAL;
  uv_tcp_init(loop_, &server_);
  server_.data = this;
  listening_ = true;
  int rc = uv_tcp_bind(&server_, reinterpret_cast<const sockaddr*>(&storage), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&server_), 128, &onConnection);
  if (rc != 0) return rc;
  sockaddr_storage actual{};
  int length = sizeof actual;
  uv_tcp_getsockname(&server_, reinterpret_cast<sockaddr*>(&actual), &length);
  bound = formatSockaddr(reinterpret_cast<const sockaddr*>(&actual));
  return 0;
}

void AdminServer::close() {
  if (closed_) return;
  closed_ = true;
  if (listening_) uv_close(reinterpret_cast<uv_handle_t*>(&server_), nullptr);
  for (Connection* c = connections_; c != nullptr;) {
    Connection* next = c->next;
    c->close();
    c = next;
  }
}

namespace {

// Accepts a connection over the limit and closes it at once: leaving it in the backlog would
// stop the accept loop, and the descriptor is what the limit protects.
void rejectConnection(uv_stream_t* server, uv_loop_t* loop) {
  auto* tcp = new uv_tcp_t;
  uv_tcp_init(loop, tcp);
  uv_accept(server, reinterpret_cast<uv_stream_t*>(tcp));
  uv_close(reinterpret_cast<uv_handle_t*>(tcp),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_tcp_t*>(handle); });
}

} // namespace

void AdminServer::onConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<AdminServer*>(server->data);
  if (status != 0 || self->closed_) return;
  if (self->open_connections_ >= self->limits_.max_connections) {
    rejectConnection(server, self->loop_);
    const uint64_t now = uv_now(self->loop_);
    if (self->full_warned_ms_ == 0 || now - self->full_warned_ms_ >= 10000) {
      self->full_warned_ms_ = now;
      Logger& logger = Logger::instance();
      logger.write(logger.line(log::Level::Warn, "admin_connections_full")
                       .unum("max_connections", self->limits_.max_connections)
                       .str("message", "closing new admin connections until some end")
                       .finish());
    }
    return;
  }
  auto* connection = new Connection;
  ++self->open_connections_;
  connection->server = self;
  connection->timeout_ms = self->limits_.request_timeout_ms;
  uv_tcp_init(self->loop_, &connection->tcp);
  uv_timer_init(self->loop_, &connection->timer);
  connection->tcp.data = connection;
  connection->timer.data = connection;
  connection->open_handles = 2;
  connection->next = self->connections_;
  if (self->connections_ != nullptr) self->connections_->prev = connection;
  self->connections_ = connection;
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&connection->tcp)) != 0) {
    connection->close();
    return;
  }
  connection->armTimer(connection->timeout_ms);
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&connection->tcp),
      [](uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
        auto* c = static_cast<Connection*>(handle->data);
        *buf = uv_buf_init(c->buffer, sizeof c->buffer);
      },
      [](uv_stream_t* stream, ssize_t nread, const uv_buf_t*) {
        auto* c = static_cast<Connection*>(stream->data);
        if (nread < 0) {
          c->close();
        } else if (nread > 0) {
          c->onData(c->buffer, static_cast<std::size_t>(nread));
        }
      });
}

} // namespace wsgate::proxy
