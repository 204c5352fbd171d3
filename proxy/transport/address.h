#pragma once

#include "common/config/values.h"

#include <string>
#include <sys/socket.h>

namespace wsgate::proxy {

// "127.0.0.1:8080" or "[::1]:8080".
std::string formatSockaddr(const sockaddr* address);
// Fills `out` when `address.host` is an IPv4 or IPv6 literal ("localhost" counts as
// 127.0.0.1); false for a name that needs DNS.
bool literalSockaddr(const config::Address& address, sockaddr_storage& out);
// The IP of a peer without the port ("127.0.0.1", "::1"), for X-Forwarded-For and limits.
std::string ipOnly(const sockaddr* address);

} // namespace wsgate::proxy
