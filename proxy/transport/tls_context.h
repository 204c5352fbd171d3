#pragma once

#include "common/config/config.h"

#include <map>
#include <memory>
#include <openssl/types.h>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::proxy {

// Frees an SSL_CTX (drops this owner's reference; SSL objects hold their own).
struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const;
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

// The server side of one TLS listener: the default certificate and the extra certificates
// chosen by SNI. Immutable once built and shared by every worker (an SSL_CTX is thread-safe
// for creating connections); each TLS stream keeps the ServerTls it started with alive, so a
// reload never disturbs an established connection.
class ServerTls {
public:
  SSL_CTX* defaultContext() const { return default_.get(); }
  // The context whose certificate serves `server_name` (lower-case): an exact [[sni]] name,
  // then a "*.suffix" one; nullptr when none matches (the default certificate is served).
  SSL_CTX* contextFor(std::string_view server_name) const;
  // True when `server_name` matches an SNI entry or a name of the default certificate.
  bool knows(std::string_view server_name) const;
  // For logs: "TLS 1.2" or "TLS 1.3".
  const std::string& minVersionName() const { return min_version_name_; }

private:
  friend class TlsContextBuilder;
  SslCtxPtr default_;
  std::map<std::string, SslCtxPtr, std::less<>> by_name_; // server_name -> context
  std::string min_version_name_;
};

// The client side towards the wss:// backends of one pool: verification against ca_file or
// the system store, and the optional client certificate.
class ClientTls {
public:
  SSL_CTX* context() const { return ctx_.get(); }
  // Where peers are verified against, for logs: the ca_file path or "the system store".
  const std::string& trustName() const { return trust_name_; }

private:
  friend class TlsContextBuilder;
  SslCtxPtr ctx_;
  std::string trust_name_;
};

// Every TLS context one configuration snapshot needs. Built off the data path (at start and on
// SIGHUP) from a validated config; a certificate that does not load fails the whole build.
struct TlsContexts {
  // Indexed like Config::listeners; nullptr for a listener without [listeners.tls].
  std::vector<std::shared_ptr<const ServerTls>> listeners;
  // By pool name; only pools with at least one wss:// backend.
  std::map<std::string, std::shared_ptr<const ClientTls>, std::less<>> pools;

  std::shared_ptr<const ServerTls> listener(std::size_t index) const {
    return index < listeners.size() ? listeners[index] : nullptr;
  }
  std::shared_ptr<const ClientTls> pool(std::string_view name) const {
    const auto it = pools.find(name);
    return it == pools.end() ? nullptr : it->second;
  }
};

// Builds the contexts of `config`. On failure returns nullptr and sets `error` to a sentence
// naming the setting and the file ("listeners[0].tls.cert: cannot load conf/x.crt: ...").
// `previous` (may be null) lends its session-ticket keys to listeners of the same index, so
// clients resume across a reload.
std::shared_ptr<const TlsContexts>
buildTlsContexts(const config::Config& config, const TlsContexts* previous, std::string& error);

// The OpenSSL error queue as one line ("error:0A000086:SSL routines::certificate verify
// failed; ..."), emptied. "" when the queue is empty.
std::string drainOpenSslErrors();

} // namespace wsgate::proxy
