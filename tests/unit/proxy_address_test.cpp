#include "proxy/transport/address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

namespace wsgate::proxy {
namespace {

sockaddr_in v4(const char* ip, uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  EXPECT_EQ(inet_pton(AF_INET, ip, &address.sin_addr), 1);
  return address;
}

TEST(Address, FormatsIpv4AsInetNtopDoes) {
  for (const auto& [ip, port] :
       {std::pair{"127.0.0.1", 8080}, std::pair{"0.0.0.0", 0}, std::pair{"255.255.255.255", 65535},
        std::pair{"10.20.3.4", 5}, std::pair{"192.168.100.199", 443}}) {
    const sockaddr_in address = v4(ip, static_cast<uint16_t>(port));
    const auto* generic = reinterpret_cast<const sockaddr*>(&address);
    EXPECT_EQ(ipOnly(generic), ip);
    EXPECT_EQ(formatSockaddr(generic), std::string(ip) + ":" + std::to_string(port));
  }
}

TEST(Address, FormatsIpv6InBrackets) {
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_port = htons(443);
  ASSERT_EQ(inet_pton(AF_INET6, "::1", &address.sin6_addr), 1);
  const auto* generic = reinterpret_cast<const sockaddr*>(&address);
  EXPECT_EQ(ipOnly(generic), "::1");
  EXPECT_EQ(formatSockaddr(generic), "[::1]:443");
}

TEST(Address, UnknownFamilyIsEmpty) {
  sockaddr address{};
  address.sa_family = AF_UNIX;
  EXPECT_EQ(formatSockaddr(&address), "");
  EXPECT_EQ(ipOnly(&address), "");
}

} // namespace
} // namespace wsgate::proxy
