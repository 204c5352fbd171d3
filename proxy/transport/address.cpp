#include "proxy/transport/address.h"

#include <cstring>
#include <uv.h>

namespace wsgate::proxy {

std::string ipOnly(const sockaddr* address) {
  char host[INET6_ADDRSTRLEN] = {0};
  if (address->sa_family == AF_INET6) {
    uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(address), host, sizeof host);
  } else if (address->sa_family == AF_INET) {
    uv_ip4_name(reinterpret_cast<const sockaddr_in*>(address), host, sizeof host);
  }
  return host;
}

std::string formatSockaddr(const sockaddr* address) {
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    return "[" + ipOnly(address) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  if (address->sa_family == AF_INET) {
    const auto* in4 = reinterpret_cast<const sockaddr_in*>(address);
    return ipOnly(address) + ":" + std::to_string(ntohs(in4->sin_port));
  }
  return "";
}

bool literalSockaddr(const config::Address& address, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof out);
  const std::string host = address.host == "localhost" ? "127.0.0.1" : address.host;
  if (uv_ip4_addr(host.c_str(), address.port, reinterpret_cast<sockaddr_in*>(&out)) == 0) {
    return true;
  }
  return uv_ip6_addr(host.c_str(), address.port, reinterpret_cast<sockaddr_in6*>(&out)) == 0;
}

} // namespace wsgate::proxy
