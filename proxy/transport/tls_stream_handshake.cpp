// TlsStream's handshake, and the words it finds for a failed handshake or record.
#include "proxy/core/logger.h"
#include "proxy/transport/tls_stream.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace wsgate::proxy {

namespace {

// TLS record content type of a handshake message: the first byte of every ClientHello.
constexpr uint8_t kHandshakeRecord = 0x16;
constexpr uint8_t kAlertRecord = 0x15;

bool isProtocolVersionReason(int reason) {
  return reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_VERSION_TOO_LOW ||
         reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION || reason == SSL_R_WRONG_SSL_VERSION ||
         reason == SSL_R_NO_PROTOCOLS_AVAILABLE;
}

std::string lowerCase(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

} // namespace

bool TlsStream::isPeerAlert(int reason) {
  return reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256;
}

void TlsStream::onStreamConnect(Stream&, int status) {
  if (closing_) return;
  if (status != 0) {
    error_ = std::string("TCP connect failed: ") + uv_strerror(status);
    setState(State::Failed);
    events_.onStreamConnect(*this, status);
    return;
  }
  setState(State::Handshaking);
  events_.onStreamSecuring(*this);
  if (closing_) return;
  updateTcpRead();
  handshake(); // sends the ClientHello
}

void TlsStream::handshake() {
  ERR_clear_error();
  const int rc = SSL_do_handshake(ssl_);
  // Send what the handshake produced, an alert included when it failed.
  flushOutput();
  if (rc == 1) {
    ERR_clear_error(); // what a successful handshake left must not fail a later read
    onHandshakeDone();
    return;
  }
  const int ssl_error = SSL_get_error(ssl_, rc);
  if (ssl_error == SSL_ERROR_WANT_READ) return;
  handshakeFailed(ssl_error);
}

void TlsStream::onHandshakeDone() {
  setState(State::Open);
  if (role_ == Role::Server) checkServerName();
  if (!held_.empty()) {
    const std::vector<uint8_t> held = std::move(held_);
    held_.clear();
    uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(held.data())),
                               static_cast<unsigned>(held.size()));
    encrypt(&buf, 1);
  }
  if (shutdown_wanted_) {
    sendCloseNotify();
    tcp_->shutdownWrite();
  }
  updateTcpRead();
  if (role_ == Role::Client) events_.onStreamConnect(*this, 0);
}

void TlsStream::handshakeFailed(int ssl_error) {
  const unsigned long code = ERR_peek_error();
  const std::string openssl = drainOpenSslErrors();
  error_ = describeFailure(ssl_error, code);
  setState(State::Failed);
  logFailure("tls_handshake_failed", openssl);
  tcp_->stopRead();
  if (role_ == Role::Client) {
    events_.onStreamConnect(*this, UV_EPROTO);
  } else {
    reportEnd(UV_EPROTO);
  }
}

void TlsStream::checkServerName() {
  const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return;
  const std::string lower = lowerCase(name);
  if (server_tls_->knows(lower)) return;
  Logger& logger = Logger::instance();
  if (!logger.enabled(log::Level::Warn)) return;
  logger.write(logger.line(log::Level::Warn, "tls_sni_unknown")
                   .str("listener", label_)
                   .str("client_addr", tcp_->peerAddress())
                   .str("sni", lower)
                   .str("message", "no certificate for this server name; the default "
                                   "certificate was served and the client may reject it")
                   .finish());
}

std::string TlsStream::describePlainText() const {
  std::string text;
  for (std::size_t i = 0; i < first_length_; ++i) {
    const char c = static_cast<char>(first_bytes_[i]);
    if (c == '\r' || c == '\n') break;
    text += (c >= 0x20 && c < 0x7f) ? c : '.';
  }
  return text;
}

std::string TlsStream::describeFailure(int ssl_error, unsigned long code) const {
  const bool server = role_ == Role::Server;
  const std::string peer = server ? "the client" : "the backend";
  // Not TLS at all: the first byte of a TLS connection is a handshake (or alert) record.
  if (first_length_ > 0 && first_bytes_[0] != kHandshakeRecord && first_bytes_[0] != kAlertRecord) {
    const bool text = first_bytes_[0] >= 'A' && first_bytes_[0] <= 'Z';
    if (server) {
      return text ? "plain HTTP sent to a TLS port (\"" + describePlainText() +
                        "\"): the client must use wss:// or https://"
                  : "not a TLS handshake: the first byte was " + std::to_string(first_bytes_[0]);
    }
    return text ? "the backend answered in plain text (\"" + describePlainText() +
                      "\"): it does not speak TLS; use ws:// for it"
                : "the backend does not speak TLS (first byte " + std::to_string(first_bytes_[0]) +
                      ")";
  }
  if (ssl_error == SSL_ERROR_SYSCALL || code == 0) {
    if (!tcp_ended_) return "TLS handshake failed";
    std::string why = peer + " closed the connection during the TLS handshake";
    if (tcp_end_status_ != UV_EOF) why += std::string(" (") + uv_strerror(tcp_end_status_) + ")";
    return why;
  }
  const int reason = ERR_GET_REASON(code);
  const char* text = ERR_reason_error_string(code);
  const std::string reason_text = text != nullptr ? text : "unknown error";
  if (reason == SSL_R_HTTP_REQUEST || reason == SSL_R_HTTPS_PROXY_REQUEST) {
    return "plain HTTP sent to a TLS port: the client must use wss:// or https://";
  }
  if (isProtocolVersionReason(reason)) {
    if (server) {
      return "protocol version: the client offered no TLS version this listener accepts "
             "(minimum " +
             server_tls_->minVersionName() + "; TLS 1.0 and 1.1 are refused) [" + reason_text + "]";
    }
    return "protocol version: the backend accepts no TLS version from 1.2 on [" + reason_text + "]";
  }
  if (reason == SSL_R_NO_SHARED_CIPHER) {
    return "no shared cipher: the client offered none of the cipher suites this listener "
           "accepts";
  }
  if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED && !server) {
    const long result = SSL_get_verify_result(ssl_);
    return "the backend's certificate failed verification: " +
           std::string(X509_verify_cert_error_string(result)) + " (expected name '" +
           backend_host_ + "', trusting " + client_tls_->trustName() + ")";
  }
  if (isPeerAlert(reason)) {
    std::string why = peer + " rejected the handshake with alert '" + reason_text + "'";
    if (server) {
      const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
      if (name != nullptr && !server_tls_->knows(lowerCase(name))) {
        why += "; its SNI '" + std::string(name) +
               "' matched no certificate, so the default certificate was served";
      } else if (reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA ||
                 reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE ||
                 reason == SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN) {
        why += ": it does not trust the certificate this listener serves";
      }
    }
    return why;
  }
  return "TLS handshake failed: " + reason_text;
}

std::string TlsStream::describeRecordFailure(unsigned long code, const std::string& openssl) const {
  if (code == 0) return "TLS record error" + (openssl.empty() ? std::string() : ": " + openssl);
  const int reason = ERR_GET_REASON(code);
  const char* text = ERR_reason_error_string(code);
  const std::string reason_text = text != nullptr ? text : "unknown error";
  if (!isPeerAlert(reason)) return "TLS record error: " + reason_text;
  std::string why = (role_ == Role::Server ? "the client" : "the backend") +
                    std::string(" sent alert '") + reason_text + "'";
  if (role_ == Role::Client && reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED) {
    why += ": it requires a client certificate (set client_cert and client_key on the pool)";
  } else if (role_ == Role::Client && plaintext_in_ == 0 &&
             (reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA ||
              reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE ||
              reason == SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN)) {
    why += ": it does not accept wsgate's client certificate";
  }
  return why;
}

void TlsStream::logFailure(std::string_view event, const std::string& openssl_errors) const {
  Logger& logger = Logger::instance();
  if (!logger.enabled(log::Level::Warn)) return;
  log::LogLine line = logger.line(log::Level::Warn, event);
  if (role_ == Role::Server) {
    line.str("listener", label_).str("client_addr", tcp_->peerAddress());
    if (const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name)) {
      line.str("sni", name);
    }
  } else {
    line.str("backend", label_).str("upstream_addr", tcp_->peerAddress());
  }
  line.str("error", error_);
  if (!openssl_errors.empty()) line.str("openssl", openssl_errors);
  logger.write(line.finish());
}

} // namespace wsgate::proxy
