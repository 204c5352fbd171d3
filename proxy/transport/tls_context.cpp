#include "proxy/transport/tls_context.h"

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace wsgate::proxy {

namespace {

// ALPN wire format: one length-prefixed protocol name.
constexpr unsigned char kAlpnHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
// Session-ticket keys: name (16), HMAC secret (32), AES key (32).
constexpr std::size_t kTicketKeysSize = 80;
// TLS 1.3 tickets sent after a full handshake; one is enough to resume.
constexpr std::size_t kTicketsPerHandshake = 1;
constexpr std::string_view kSessionIdContext = "wsgate";

// Picks http/1.1 when the client offers it; any other offer goes on without ALPN (WebSocket
// needs HTTP/1.1, and a client that offers only h2 gets a clear HTTP error rather than a
// handshake failure).
int selectAlpn(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
               unsigned int in_length, void*) {
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, out_length, kAlpnHttp11, sizeof kAlpnHttp11, in, in_length) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

// Switches the connection to the context of the certificate for the requested server name.
// An unknown name keeps the default certificate (the client decides whether it accepts it).
int onServerName(SSL* ssl, int*, void* arg) {
  const auto* server = static_cast<const ServerTls*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_OK;
  std::string lower(name);
  for (char& c : lower)
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  SSL_CTX* ctx = server->contextFor(lower);
  if (ctx != nullptr && ctx != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, ctx);
  return SSL_TLSEXT_ERR_OK;
}

bool readable(const std::string& path, std::string& why) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    why = std::strerror(errno);
    return false;
  }
  std::fclose(file);
  return true;
}

} // namespace

void SslCtxDeleter::operator()(SSL_CTX* ctx) const {
  SSL_CTX_free(ctx);
}

std::string drainOpenSslErrors() {
  std::string out;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    std::array<char, 256> text{};
    ERR_error_string_n(code, text.data(), text.size());
    if (!out.empty()) out += "; ";
    out += text.data();
  }
  return out;
}

SSL_CTX* ServerTls::contextFor(std::string_view server_name) const {
  if (const auto it = by_name_.find(server_name); it != by_name_.end()) return it->second.get();
  // "*.example.com" covers every name below example.com; the longest suffix wins.
  for (std::size_t dot = server_name.find('.'); dot != std::string_view::npos;
       dot = server_name.find('.', dot + 1)) {
    std::string pattern = "*";
    pattern += server_name.substr(dot);
    if (const auto it = by_name_.find(pattern); it != by_name_.end()) return it->second.get();
  }
  return nullptr;
}

bool ServerTls::knows(std::string_view server_name) const {
  if (contextFor(server_name) != nullptr) return true;
  const X509* cert = SSL_CTX_get0_certificate(default_.get());
  if (cert == nullptr) return false;
  return X509_check_host(const_cast<X509*>(cert), server_name.data(), server_name.size(), 0,
                         nullptr) == 1;
}

// Builds the contexts; every failure names the setting (`where`) and the file.
class TlsContextBuilder {
public:
  explicit TlsContextBuilder(std::string& error) : error_(error) {}

  std::shared_ptr<ServerTls> server(const config::Tls& tls, const std::string& where,
                                    SSL_CTX* previous) {
    auto server = std::make_shared<ServerTls>();
    server->min_version_name_ =
        tls.min_version == config::TlsVersion::Tls13 ? "TLS 1.3" : "TLS 1.2";
    server->default_ = serverContext(tls, tls.cert, tls.key, where);
    if (!server->default_) return nullptr;
    for (std::size_t i = 0; i < tls.sni.size(); ++i) {
      const config::SniCertificate& sni = tls.sni[i];
      SslCtxPtr ctx =
          serverContext(tls, sni.cert, sni.key, where + ".sni[" + std::to_string(i) + "]");
      if (!ctx) return nullptr;
      server->by_name_.emplace(sni.server_name, std::move(ctx));
    }
    SSL_CTX* ctx = server->default_.get();
    SSL_CTX_set_tlsext_servername_callback(ctx, &onServerName);
    SSL_CTX_set_tlsext_servername_arg(ctx, server.get());
    // Tickets are sealed with the keys of the context the handshake started on (the default
    // one); keeping the previous keys lets clients resume across a reload.
    if (previous != nullptr) {
      std::array<unsigned char, kTicketKeysSize> keys{};
      if (SSL_CTX_get_tlsext_ticket_keys(previous, keys.data(), keys.size()) == 1) {
        SSL_CTX_set_tlsext_ticket_keys(ctx, keys.data(), keys.size());
      }
    }
    return server;
  }

  std::shared_ptr<ClientTls> client(const config::Pool& pool, const std::string& where) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) return fail(where, "cannot create a TLS context: " + drainOpenSslErrors());
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    auto client = std::make_shared<ClientTls>();
    if (pool.ca_file.empty()) {
      if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
        return fail(where + ".ca_file",
                    "cannot load the system certificate store: " + drainOpenSslErrors());
      }
      client->trust_name_ = "the system store";
    } else {
      std::string why;
      if (!readable(pool.ca_file, why)) {
        return fail(where + ".ca_file", "cannot read '" + pool.ca_file + "': " + why);
      }
      if (SSL_CTX_load_verify_file(ctx.get(), pool.ca_file.c_str()) != 1) {
        return fail(where + ".ca_file", "cannot load CA certificates from '" + pool.ca_file +
                                            "': " + drainOpenSslErrors());
      }
      client->trust_name_ = pool.ca_file;
    }
    if (!pool.client_cert.empty() &&
        !loadCertificate(ctx.get(), pool.client_cert, pool.client_key, where + ".client_cert",
                         where + ".client_key")) {
      return nullptr;
    }
    // Returns 0 on success, unlike most of OpenSSL.
    if (SSL_CTX_set_alpn_protos(ctx.get(), kAlpnHttp11, sizeof kAlpnHttp11) != 0) {
      return fail(where, "cannot set ALPN: " + drainOpenSslErrors());
    }
    client->ctx_ = std::move(ctx);
    return client;
  }

private:
  // Records the first failure; returns nullptr for the callers' convenience.
  std::nullptr_t fail(const std::string& where, const std::string& message) {
    error_ = where + ": " + message;
    ERR_clear_error();
    return nullptr;
  }

  SslCtxPtr serverContext(const config::Tls& tls, const std::string& cert, const std::string& key,
                          const std::string& where) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) return fail(where, "cannot create a TLS context: " + drainOpenSslErrors());
    SSL_CTX_set_min_proto_version(
        ctx.get(), tls.min_version == config::TlsVersion::Tls13 ? TLS1_3_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                       SSL_OP_NO_COMPRESSION);
    // Idle connections give their record buffers back.
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_id_context(ctx.get(),
                                   reinterpret_cast<const unsigned char*>(kSessionIdContext.data()),
                                   static_cast<unsigned int>(kSessionIdContext.size()));
    SSL_CTX_set_num_tickets(ctx.get(), kTicketsPerHandshake);
    SSL_CTX_set_alpn_select_cb(ctx.get(), &selectAlpn, nullptr);
    if (!loadCertificate(ctx.get(), cert, key, where + ".cert", where + ".key")) return nullptr;
    return ctx;
  }

  bool loadCertificate(SSL_CTX* ctx, const std::string& cert, const std::string& key,
                       const std::string& cert_where, const std::string& key_where) {
    std::string why;
    if (!readable(cert, why)) {
      fail(cert_where, "cannot read '" + cert + "': " + why);
      return false;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
      fail(cert_where,
           "cannot load the certificate chain from '" + cert + "': " + drainOpenSslErrors());
      return false;
    }
    if (!readable(key, why)) {
      fail(key_where, "cannot read '" + key + "': " + why);
      return false;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
      const unsigned long code = ERR_peek_last_error();
      const std::string errors = drainOpenSslErrors();
      if (ERR_GET_LIB(code) == ERR_LIB_X509 && ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH) {
        fail(key_where, "the key in '" + key + "' does not match the certificate in '" + cert +
                            "' [" + errors + "]");
      } else {
        fail(key_where, "cannot load the private key from '" + key + "': " + errors);
      }
      return false;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      fail(key_where, "the key in '" + key + "' does not match the certificate in '" + cert +
                          "': " + drainOpenSslErrors());
      return false;
    }
    return true;
  }

  std::string& error_;
};

std::shared_ptr<const TlsContexts>
buildTlsContexts(const config::Config& config, const TlsContexts* previous, std::string& error) {
  ERR_clear_error();
  auto contexts = std::make_shared<TlsContexts>();
  TlsContextBuilder builder(error);
  for (std::size_t i = 0; i < config.listeners.size(); ++i) {
    const config::Listener& listener = config.listeners[i];
    if (!listener.tls) {
      contexts->listeners.push_back(nullptr);
      continue;
    }
    SSL_CTX* old = nullptr;
    if (previous != nullptr) {
      if (const auto server = previous->listener(i)) old = server->defaultContext();
    }
    auto server = builder.server(*listener.tls, "listeners[" + std::to_string(i) + "].tls", old);
    if (!server) return nullptr;
    contexts->listeners.push_back(std::move(server));
  }
  for (std::size_t i = 0; i < config.pools.size(); ++i) {
    const config::Pool& pool = config.pools[i];
    bool any_tls = false;
    for (const config::Backend& backend : pool.backends)
      any_tls = any_tls || backend.tls;
    if (!any_tls) continue;
    auto client = builder.client(pool, "pools[" + std::to_string(i) + "]");
    if (!client) return nullptr;
    contexts->pools.emplace(pool.name, std::move(client));
  }
  return contexts;
}

} // namespace wsgate::proxy
