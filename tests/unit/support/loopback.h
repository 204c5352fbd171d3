#pragma once

#include <arpa/inet.h>
#include <cstdint>
#include <functional>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

namespace wsgate::proxy::test {

// A TCP socket bound to a free port of 127.0.0.1, listening when `listen` (a bound socket that
// does not listen refuses connects: a closed port no other process can take meanwhile). Sets
// `fd` (the caller closes it) and returns the port.
inline uint16_t boundLoopbackPort(bool listen, int& fd) {
  fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), length), 0);
  if (listen) {
    EXPECT_EQ(::listen(fd, 8), 0);
  }
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  return ntohs(address.sin_port);
}

// Runs `loop` until `done` (at most `rounds` iterations; a 10 ms timer keeps each one short).
inline bool runLoopUntil(uv_loop_t& loop, const std::function<bool()>& done, int rounds) {
  uv_timer_t timer;
  uv_timer_init(&loop, &timer);
  uv_timer_start(
      &timer, [](uv_timer_t*) {}, 10, 10);
  for (int i = 0; i < rounds && !done(); ++i)
    uv_run(&loop, UV_RUN_ONCE);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
  uv_run(&loop, UV_RUN_NOWAIT);
  return done();
}

} // namespace wsgate::proxy::test
