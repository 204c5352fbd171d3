#pragma once

// The command line of `wsgate probe [options] URL`, parsed without side effects.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace wsgate::probe {

using Millis = std::chrono::milliseconds;

// Exit statuses of the probe.
inline constexpr int kExitHealthy = 0;
inline constexpr int kExitHandshake = 1; // the handshake was refused or invalid
inline constexpr int kExitUsage = 2;
inline constexpr int kExitConnection = 3; // could not connect, or the connection ended abnormally

struct Url {
  bool tls = false;  // wss://
  std::string host;  // without brackets for IPv6
  uint16_t port = 0; // 80 or 443 unless given
  std::string path;  // origin-form target: "/", "/chat?room=1"
  std::string hostHeader() const;
  std::string text() const;
};

struct Options {
  Url url;
  std::vector<std::string> headers; // "Name: value"
  std::string origin;
  std::vector<std::string> subprotocols;
  std::string cacert;
  std::string sni; // empty: the URL's host (unless it is an IP address)
  bool insecure = false;
  Millis timeout{10000}; // each step: connect, TLS, response, pong, close reply
  int count = 3;         // messages (and pings) sent after the upgrade
  std::string send = "wsgate probe";
  Millis interval{0};
  Millis hold{0};
  int reconnect = 0;
  Millis max_backoff{30000};
  bool json = false;
  bool quiet = false;
};

struct ParsedArgs {
  bool help = false;
  std::string error; // set on a usage error
  Options options;
};

// Parses the arguments after "probe".
ParsedArgs parseProbeArgs(int argc, const char* const* argv);
bool parseUrl(const std::string& text, Url& url, std::string& error);
std::string probeUsage();

} // namespace wsgate::probe
