#include "proxy/transport/address.h"

#include <charconv>
#include <cstring>
#include <uv.h>

namespace wsgate::proxy {

namespace {

// "a.b.c.d" into `out` (at least 16 bytes); returns the end. Every accepted connection formats
// its peer, so this avoids inet_ntop's sprintf.
char* formatIp4(const sockaddr_in* in4, char* out) {
  const auto* octets = reinterpret_cast<const uint8_t*>(&in4->sin_addr.s_addr);
  for (int i = 0; i < 4; ++i) {
    if (i > 0) *out++ = '.';
    out = std::to_chars(out, out + 3, octets[i]).ptr;
  }
  return out;
}

} // namespace

std::string ipOnly(const sockaddr* address) {
  char host[INET6_ADDRSTRLEN] = {0};
  if (address->sa_family == AF_INET6) {
    uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(address), host, sizeof host);
  } else if (address->sa_family == AF_INET) {
    return std::string(host, formatIp4(reinterpret_cast<const sockaddr_in*>(address), host));
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
    char text[sizeof "255.255.255.255:65535"];
    char* end = formatIp4(in4, text);
    *end++ = ':';
    end = std::to_chars(end, text + sizeof text, ntohs(in4->sin_port)).ptr;
    return std::string(text, end);
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
