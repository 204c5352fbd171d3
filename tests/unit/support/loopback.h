#pragma once

#include <arpa/inet.h>
#include <cstdint>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

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

} // namespace wsgate::proxy::test
