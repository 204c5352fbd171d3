#include "proxy/probe/explain.h"

#include "common/http/headers.h"
#include "common/ws/close.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <openssl/x509_vfy.h>
#include <utility>

namespace wsgate::probe {

namespace {

std::string retryAfter(const http::Response& response) {
  const auto value = response.headers.get("retry-after");
  if (!value) return "no Retry-After given: back off exponentially with jitter";
  return "Retry-After: " + std::string(*value) + ": wait that long before reconnecting";
}

std::string explain400(std::string_view body) {
  std::string out = "400 Bad Request: the server found the upgrade request malformed (the guide: "
                    "client-side header formatting)";
  const std::string header = headerNamedIn(body);
  if (!header.empty()) out += "; it objected to the " + header + " header";
  out += ". A request needs Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Key and "
         "Sec-WebSocket-Version: 13; a proxy in front may have stripped Upgrade/Connection";
  return out;
}

std::string explain401(const http::Response& response) {
  std::string out = "401 Unauthorized: authentication failed: the token or credentials are "
                    "missing or invalid (check the server-side authentication logic)";
  if (const auto challenge = response.headers.get("www-authenticate")) {
    out += "; the server asks for WWW-Authenticate: " + std::string(*challenge);
  }
  return out + ". Send them with --header 'Authorization: Bearer TOKEN'";
}

std::string explain403(const Sent& sent) {
  std::string out = "403 Forbidden: refused by policy: the Origin is not allowed (CORS) or the "
                    "client is not authorized for this resource";
  out += sent.origin.empty() ? "; no Origin was sent: try --origin https://your.site"
                             : "; Origin '" + sent.origin +
                                   "' was sent: try the origin your page is served from with "
                                   "--origin, and check the authorization rules";
  return out;
}

std::string explainOther(const http::Response& response) {
  const int status = response.status;
  std::string out = std::to_string(status) + " " + response.reason +
                    ": something on the path does not speak WebSocket or stripped the Upgrade "
                    "headers: a proxy, firewall or load balancer without WebSocket "
                    "configuration";
  if (status >= 300 && status < 400) {
    if (const auto location = response.headers.get("location")) {
      out += "; it redirects to " + std::string(*location) +
             " (WebSocket clients do not follow redirects)";
    }
  }
  return out;
}

} // namespace

std::string headerNamedIn(std::string_view body) {
  static constexpr std::array<std::string_view, 9> kNames = {"Sec-WebSocket-Version",
                                                             "Sec-WebSocket-Key",
                                                             "Sec-WebSocket-Protocol",
                                                             "Sec-WebSocket-Extensions",
                                                             "Upgrade",
                                                             "Connection",
                                                             "Origin",
                                                             "Host",
                                                             "Content-Length"};
  std::string lower(body);
  for (char& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const std::string_view name : kNames) {
    std::string needle(name);
    for (char& c : needle)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.find(needle) != std::string::npos) return std::string(name);
  }
  return "";
}

std::string explainStatus(const http::Response& response, std::string_view body, const Sent& sent) {
  const int status = response.status;
  const std::string head = std::to_string(status) + " " + response.reason;
  switch (status) {
  case 400:
    return explain400(body);
  case 401:
    return explain401(response);
  case 403:
    return explain403(sent);
  case 404:
    return head + ": no WebSocket endpoint at this path (or no route for this host): check the "
                  "URL's path and host";
  case 405:
    return head + ": the server wants another method; a WebSocket upgrade is a GET";
  case 426: {
    const auto version = response.headers.get("sec-websocket-version");
    return head + ": the server wants another WebSocket version" +
           (version ? " (Sec-WebSocket-Version: " + std::string(*version) + ")" : "") +
           (sent.version == "13"
                ? "; this probe sent version 13"
                : "; the request offered version " + sent.version + " (RFC 6455 is version 13)");
  }
  case 429:
    return head + ": rate limited: too many connections from this client; " + retryAfter(response);
  case 503:
    return head + ": the server is overloaded, draining or has no healthy backend; " +
           retryAfter(response);
  default:
    break;
  }
  if (status >= 500) {
    return head +
           ": server exception during the upgrade: check the application server's "
           "logs" +
           (status == 502 || status == 504
                ? " (a gateway answered: its backend failed or did not answer in time)"
                : "");
  }
  return explainOther(response);
}

namespace {

struct CloseMeaning {
  uint16_t code;
  const char* what;
};

// What each close code means and what a client should do about it.
constexpr std::array<CloseMeaning, 18> kCloseMeanings = {{
    {1000, "normal closure: the session ended as intended"},
    {1001, "going away: the server is shutting down or the page left; reconnect"},
    {1002, "protocol error: a peer broke RFC 6455; a bug in the client or server"},
    {1003, "unsupported data: the peer cannot accept this type of message (text or binary)"},
    {1005, "no status: the close frame carried no code"},
    {1006, "abnormal closure: the connection was lost without a close frame (network, an "
           "intermediary, or a crashed peer); reconnect with backoff"},
    {1007, "invalid payload: a text message was not valid UTF-8; fix the sender's encoding"},
    {1008, "policy violation: a message broke the server's policy; do not resend it as is"},
    {1009, "message too big: a message was over the server's size limit; send smaller messages"},
    {1010, "mandatory extension: the client needs an extension the server did not negotiate"},
    {1011, "internal error: the server hit an unexpected condition; check its logs, reconnect "
           "with backoff"},
    {1012, "service restart: the server is restarting; reconnect with backoff"},
    {1013, "try again later: the server is overloaded; reconnect with backoff"},
    {1014, "bad gateway: the server's upstream failed (a proxy lost its backend); reconnect "
           "with backoff"},
    {1015, "TLS handshake failure"},
    {4001, "invalid auth token: refresh the token, then reconnect"},
    {4002, "rate limit exceeded: back off before reconnecting"},
    {4003, "session expired: re-authenticate and start a new session"},
}};

} // namespace

std::string explainClose(uint16_t code, std::string_view reason) {
  const auto* found = std::find_if(kCloseMeanings.begin(), kCloseMeanings.end(),
                                   [code](const CloseMeaning& m) { return m.code == code; });
  std::string what;
  if (found != kCloseMeanings.end()) {
    what = found->what;
  } else if (code >= 4000 && code <= 4999) {
    what = "application code (private use): see the application's documentation";
  } else if (code >= 3000 && code <= 3999) {
    what = "registered code (libraries and frameworks)";
  } else {
    what = "not a valid close code";
  }
  std::string out = std::to_string(code) + " " + what;
  if (code == ws::close_code::kMessageTooBig &&
      reason.find_first_of("0123456789") != std::string_view::npos) {
    out += " (the server's limit, as its reason says: '" + std::string(reason) + "')";
  }
  return out;
}

bool shouldReconnect(uint16_t code) {
  using namespace ws::close_code;
  return code == kGoingAway || code == kAbnormal || code == kInternalError ||
         code == kServiceRestart || code == kTryAgainLater || code == kBadGateway ||
         code == kRateLimited;
}

std::string explainConnectError(int err, std::string_view address) {
  const std::string at(address);
  switch (err) {
  case ECONNREFUSED:
    return "connection refused by " + at +
           ": nothing listens on that port (the server is down or on another port), or a "
           "firewall rejects it";
  case ETIMEDOUT:
    return "connect to " + at +
           " timed out: a firewall drops the packets, the host is down or unreachable, or the "
           "server's accept queue is full";
  case ENETUNREACH:
  case EHOSTUNREACH:
    return at + " is unreachable: no route to that network or host (check the address, VPN "
                "or firewall)";
  default:
    return "connect to " + at + " failed: " + std::strerror(err);
  }
}

std::string explainVerify(long code, std::string_view verify_name) {
  const std::string reason = X509_verify_cert_error_string(code);
  switch (code) {
  case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
  case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
  case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    return "unknown CA: the certificate's issuer is not trusted (" + reason +
           "); pass the CA with --cacert FILE, or --insecure to skip the check";
  case X509_V_ERR_CERT_HAS_EXPIRED:
    return "expired certificate (" + reason + "): renew the server's certificate";
  case X509_V_ERR_CERT_NOT_YET_VALID:
    return "certificate not yet valid (" + reason + "): check the server's and this host's clock";
  case X509_V_ERR_HOSTNAME_MISMATCH:
  case X509_V_ERR_IP_ADDRESS_MISMATCH:
    return "name mismatch: the certificate is not valid for '" + std::string(verify_name) + "' (" +
           reason + "); connect with a name its SANs list";
  default:
    return "certificate verification failed: " + reason;
  }
}

std::string explainTlsError(std::string_view openssl_error) {
  const std::string error(openssl_error);
  if (error.find("wrong version number") != std::string::npos ||
      error.find("packet length too long") != std::string::npos) {
    return "TLS handshake failed: the server does not speak TLS on this port (try ws://): " + error;
  }
  if (error.find("alert") != std::string::npos) {
    return "TLS handshake failed: the server sent an alert: " + error;
  }
  return "TLS handshake failed: " + error;
}

} // namespace wsgate::probe
