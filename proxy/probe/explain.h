#pragma once

// The probe's explanations, in the troubleshooting guide's terms. Pure functions: no I/O.

#include "common/http/parser.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace wsgate::probe {

// What the probe sent that an explanation may refer to.
struct Sent {
  std::string origin; // "" when no Origin was sent
  bool subprotocols = false;
  std::string version = "13"; // the Sec-WebSocket-Version sent
};

// Why a non-101 answer failed the handshake, with what to check ("403 Forbidden: ...").
std::string explainStatus(const http::Response& response, std::string_view body, const Sent& sent);

// The request header a 400 body names ("Sec-WebSocket-Key"), or "".
std::string headerNamedIn(std::string_view body);

// "1001 going away: the server is shutting down or restarting; reconnect".
std::string explainClose(uint16_t code, std::string_view reason);
// True for the close codes after which a client should reconnect (with backoff).
bool shouldReconnect(uint16_t code);

// Why a TCP connect failed (ECONNREFUSED, ETIMEDOUT, ENETUNREACH, ...).
std::string explainConnectError(int err, std::string_view address);

// A certificate verification failure named: unknown CA, expired, name mismatch, ...
std::string explainVerify(long code, std::string_view verify_name);
// A TLS handshake that failed before the certificate (an alert, a plain-text server).
std::string explainTlsError(std::string_view openssl_error);

} // namespace wsgate::probe
