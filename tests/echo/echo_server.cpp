#include "tests/echo/echo_server.h"

#include "tests/echo/echo_connection.h"

#include <arpa/inet.h>
#include <cassert>
#include <csignal>
#include <netinet/in.h>

namespace wsgate::echo {

namespace {

constexpr int kListenBacklog = 1024;

} // namespace

Server::Server(uv_loop_t* loop)
    : loop_(loop), read_buffer_(std::make_unique_for_overwrite<uint8_t[]>(kReadBufferSize)),
      scratch_(2 * kReadBufferSize) {}

Server::~Server() {
  // The loop ran until every handle was closed: no callback can reach this object any more.
  assert(open_handles_ == 0);
  assert(connections_.empty());
}

int Server::start(const std::string& host, int port, std::string& bound) {
  sockaddr_storage addr{};
  bool ipv6 = false;
  if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr)) != 0) {
    if (const int rc = uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr));
        rc != 0) {
      return rc;
    }
    ipv6 = true;
  }
  uv_tcp_init(loop_, &listener_);
  listener_.data = this;
  ++open_handles_;
  if (const int rc = uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&addr), 0);
      rc != 0) {
    return rc;
  }
  if (const int rc =
          uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), kListenBacklog, onConnection);
      rc != 0) {
    return rc;
  }
  sockaddr_storage name{};
  int length = sizeof(name);
  if (const int rc = uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&name), &length);
      rc != 0) {
    return rc;
  }
  const uint16_t real_port = ipv6 ? reinterpret_cast<const sockaddr_in6*>(&name)->sin6_port
                                  : reinterpret_cast<const sockaddr_in*>(&name)->sin_port;
  bound = (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(ntohs(real_port));

  for (auto [handle, signum] : {std::pair{&sigint_, SIGINT}, std::pair{&sigterm_, SIGTERM}}) {
    uv_signal_init(loop_, handle);
    handle->data = this;
    ++open_handles_;
    if (const int rc = uv_signal_start(handle, onSignal, signum); rc != 0) return rc;
  }
  return 0;
}

void Server::stop() {
  if (stopping_) return;
  stopping_ = true;
  closeHandle(reinterpret_cast<uv_handle_t*>(&listener_));
  closeHandle(reinterpret_cast<uv_handle_t*>(&sigint_));
  closeHandle(reinterpret_cast<uv_handle_t*>(&sigterm_));
  // Connections leave the list from their close callbacks, never during this loop.
  for (const std::unique_ptr<Connection>& connection : connections_)
    connection->close();
}

void Server::release(Connection* connection) {
  connections_.erase(connection->self);
}

void Server::closeHandle(uv_handle_t* handle) {
  // A handle never initialized still has a null loop (the members start zeroed).
  if (handle->loop == nullptr || uv_is_closing(handle) != 0) return;
  uv_close(handle, onHandleClosed);
}

void Server::onHandleClosed(uv_handle_t* handle) {
  --static_cast<Server*>(handle->data)->open_handles_;
}

void Server::onConnection(uv_stream_t* listener, int status) {
  Server& self = *static_cast<Server*>(listener->data);
  if (status < 0 || self.stopping_) return;
  self.connections_.push_front(std::make_unique<Connection>(self));
  Connection& connection = *self.connections_.front();
  connection.self = self.connections_.begin();
  connection.accept(listener);
}

void Server::onSignal(uv_signal_t* handle, int /*signum*/) {
  static_cast<Server*>(handle->data)->stop();
}

} // namespace wsgate::echo
