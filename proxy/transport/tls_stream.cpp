#include "proxy/transport/tls_stream.h"

#include "proxy/core/logger.h"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cstring>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace wsgate::proxy {

namespace {

// Several small pieces written together are gathered into one record up to this size.
constexpr std::size_t kCoalesceMax = std::size_t{16} * 1024;
// TLS record content type of a handshake message: the first byte of every ClientHello.
constexpr uint8_t kHandshakeRecord = 0x16;
constexpr uint8_t kAlertRecord = 0x15;

bool isIpLiteral(const std::string& host) {
  std::array<unsigned char, 16> scratch{};
  return inet_pton(AF_INET, host.c_str(), scratch.data()) == 1 ||
         inet_pton(AF_INET6, host.c_str(), scratch.data()) == 1;
}

bool isProtocolVersionReason(int reason) {
  return reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_VERSION_TOO_LOW ||
         reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION || reason == SSL_R_WRONG_SSL_VERSION ||
         reason == SSL_R_NO_PROTOCOLS_AVAILABLE;
}

// Alerts the peer sent have reason codes from SSL_AD_REASON_OFFSET (1000) on.
bool isPeerAlert(int reason) {
  return reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256;
}

std::string lowerCase(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

} // namespace

const char* TlsStream::toString(State state) {
  switch (state) {
  case State::Connecting:
    return "connecting";
  case State::Handshaking:
    return "handshaking";
  case State::Open:
    return "open";
  case State::Failed:
    return "failed";
  }
  return "unknown";
}

TlsStream::TlsStream(uv_loop_t* loop, BufferPool& pool, StreamEvents& events, Role role, SSL* ssl,
                     std::string label, UringEngine* uring)
    : tcp_(makeSocketStream(loop, pool, uring, static_cast<StreamEvents&>(*this))), pool_(pool),
      events_(events), role_(role),
      state_(role == Role::Server ? State::Handshaking : State::Connecting), ssl_(ssl),
      label_(std::move(label)) {
  uv_idle_init(loop, &resume_);
  resume_.data = this;
  // Before the handshake the write BIO is ours (OpenSSL puts a buffering BIO in front of it
  // only while the handshake runs).
  BIO_set_data(SSL_get_rbio(ssl_), this);
  BIO_set_data(SSL_get_wbio(ssl_), this);
}

TlsStream::~TlsStream() {
  SSL_free(ssl_);
  releaseInput(); // nothing is left after close(); this covers a stream never closed
  if (output_block_ != nullptr) pool_.release(output_block_);
}

std::unique_ptr<TlsStream> TlsStream::server(uv_loop_t* loop, BufferPool& pool,
                                             StreamEvents& events,
                                             std::shared_ptr<const ServerTls> tls,
                                             std::string listener, UringEngine* uring) {
  SSL* ssl = SSL_new(tls->defaultContext());
  if (ssl == nullptr || !attachBios(ssl)) {
    SSL_free(ssl);
    ERR_clear_error(); // the error queue stays empty between events (see readPlaintext)
    return nullptr;
  }
  SSL_set_accept_state(ssl);
  std::unique_ptr<TlsStream> stream(
      new TlsStream(loop, pool, events, Role::Server, ssl, std::move(listener), uring));
  stream->server_tls_ = std::move(tls);
  return stream;
}

std::unique_ptr<TlsStream> TlsStream::client(uv_loop_t* loop, BufferPool& pool,
                                             StreamEvents& events,
                                             std::shared_ptr<const ClientTls> tls,
                                             const config::Backend& backend, std::string pool_name,
                                             std::string& error, UringEngine* uring) {
  ERR_clear_error();
  SSL* ssl = SSL_new(tls->context());
  if (ssl == nullptr || !attachBios(ssl)) {
    error = "cannot create a TLS connection: " + drainOpenSslErrors();
    SSL_free(ssl);
    return nullptr;
  }
  const std::string& host = backend.address.host;
  bool ok = true;
  if (isIpLiteral(host)) {
    ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1;
  } else {
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    ok = SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 && SSL_set1_host(ssl, host.c_str()) == 1;
  }
  if (!ok) {
    error = "cannot set the TLS server name '" + host + "': " + drainOpenSslErrors();
    SSL_free(ssl);
    return nullptr;
  }
  SSL_set_connect_state(ssl);
  ERR_clear_error(); // nothing may stay queued for the reads of other streams
  std::unique_ptr<TlsStream> stream(
      new TlsStream(loop, pool, events, Role::Client, ssl,
                    std::move(pool_name) + " " + config::formatAddress(backend.address), uring));
  stream->client_tls_ = std::move(tls);
  stream->backend_host_ = host;
  return stream;
}

void TlsStream::setState(State state) {
  if (state_ == State::Failed) return;
  state_ = state;
}

// ---------------------------------------------------------------- reading

int TlsStream::startRead() {
  if (reading_ || closing_) return 0;
  reading_ = true;
  // Plaintext (or the end) that arrived while the owner did not read: deliver it from the loop,
  // not from inside this call.
  if (state_ == State::Open && (buffered() || (tcp_ended_ && !end_reported_))) {
    uv_idle_start(&resume_, &TlsStream::onResume);
  }
  return updateTcpRead();
}

void TlsStream::stopRead() {
  if (!reading_) return;
  reading_ = false;
  updateTcpRead();
}

int TlsStream::updateTcpRead() {
  const bool want = !closing_ && !tcp_ended_ &&
                    (state_ == State::Handshaking || (state_ == State::Open && reading_));
  if (want) return tcp_->startRead();
  tcp_->stopRead();
  return 0;
}

bool TlsStream::buffered() const {
  return SSL_has_pending(ssl_) == 1 || inputBytes() > 0;
}

void TlsStream::onResume(uv_idle_t* handle) {
  auto* self = static_cast<TlsStream*>(handle->data);
  uv_idle_stop(handle);
  if (self->closing_ || !self->reading_) return;
  self->advance();
}

void TlsStream::onStreamData(Stream&, Block* block, std::size_t length) {
  if (first_length_ < kFirstBytes) {
    const std::size_t n = std::min(kFirstBytes - first_length_, length);
    std::memcpy(first_bytes_ + first_length_, block->data.data(), n);
    first_length_ += n;
  }
  takeInput(block, length);
  advance();
}

void TlsStream::advance() {
  if (state_ == State::Handshaking) handshake();
  if (state_ == State::Open && !closing_) readPlaintext();
}

// SSL_get_error() takes any queued error for this call's own, so the thread's error queue must
// be empty before SSL_read: every path of this class that can leave an error drains or clears
// it before returning to the loop (failures drain it for their message; the handshake, which
// may leave stray entries on success, clears it). Clearing it on every read instead costs a
// walk over the whole queue each time.
void TlsStream::readPlaintext() {
  while (reading_ && !closing_ && state_ == State::Open) {
    Block* block = pool_.acquire();
    std::size_t filled = 0;
    int ssl_error = SSL_ERROR_NONE;
    // The queue is kept empty between events; should anything on this thread have left an
    // error, SSL_get_error would report it as this stream's failure.
    if (ERR_peek_error() != 0) ERR_clear_error();
    while (filled < kBlockSize) {
      std::size_t n = 0;
      if (SSL_read_ex(ssl_, block->data.data() + filled, kBlockSize - filled, &n) != 1) {
        ssl_error = SSL_get_error(ssl_, 0);
        break;
      }
      filled += n;
      if (SSL_pending(ssl_) == 0 && inputBytes() == 0) {
        // Nothing decrypted is left and no ciphertext is buffered: another SSL_read could
        // only answer WANT_READ (and would allocate and free its record buffer to say so).
        ssl_error = SSL_ERROR_WANT_READ;
        break;
      }
    }
    // Reading may have produced records of its own (a key update answer, an alert).
    flushOutput();
    plaintext_in_ += filled;
    if (filled > 0) events_.onStreamData(*this, block, filled);
    pool_.release(block);
    if (closing_) return;
    if (ssl_error == SSL_ERROR_NONE) continue; // the block filled up: there may be more
    if (ssl_error == SSL_ERROR_WANT_READ) {
      // Everything buffered is delivered; after the TCP end nothing more will come (a record
      // cut short by it is lost, as a truncated stream is).
      if (tcp_ended_) reportEnd(tcp_end_status_);
      return;
    }
    if (ssl_error == SSL_ERROR_ZERO_RETURN) {
      reportEnd(UV_EOF); // close_notify: the peer finished sending
      return;
    }
    const unsigned long code = ERR_peek_error();
    const std::string openssl = drainOpenSslErrors();
    error_ = describeRecordFailure(code, openssl);
    // TLS 1.3 ends the client's handshake before the server has checked the client's
    // certificate: a refusal arrives as the first record after it.
    const bool in_handshake = role_ == Role::Client && plaintext_in_ == 0 && code != 0 &&
                              isPeerAlert(ERR_GET_REASON(code));
    setState(State::Failed);
    logFailure(in_handshake ? "tls_handshake_failed" : "tls_record_failed", openssl);
    reportEnd(UV_EPROTO);
    return;
  }
}

void TlsStream::onStreamEnd(Stream&, int status) {
  tcp_ended_ = true;
  tcp_end_status_ = status;
  switch (state_) {
  case State::Handshaking:
    if (role_ == Role::Server && first_length_ == 0) {
      // Connected and left without a byte (a port probe): nothing to report but the end.
      error_ = "the connection closed before the TLS handshake began";
      setState(State::Failed);
      reportEnd(status);
      return;
    }
    ERR_clear_error();
    handshakeFailed(SSL_ERROR_SYSCALL);
    return;
  case State::Open:
    if (reading_) readPlaintext(); // delivers what is buffered, then the end
    return;
  case State::Connecting:
  case State::Failed:
    return;
  }
}

void TlsStream::reportEnd(int status) {
  if (end_reported_) return;
  end_reported_ = true;
  reading_ = false;
  updateTcpRead();
  events_.onStreamEnd(*this, status);
}

// ---------------------------------------------------------------- handshake

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

// ---------------------------------------------------------------- writing

int TlsStream::writeBlock(Block*, const uv_buf_t* bufs, unsigned count) {
  if (closing_ || state_ == State::Failed || close_notify_sent_) return UV_EPIPE;
  std::size_t total = 0;
  for (unsigned i = 0; i < count; ++i)
    total += bufs[i].len;
  bytes_written_ += total;
  if (state_ != State::Open) {
    for (unsigned i = 0; i < count; ++i) {
      const auto* p = reinterpret_cast<const uint8_t*>(bufs[i].base);
      held_.insert(held_.end(), p, p + bufs[i].len);
    }
    return 0;
  }
  return encrypt(bufs, count);
}

int TlsStream::writeCopy(std::span<const uint8_t> bytes) {
  uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(bytes.data())),
                             static_cast<unsigned>(bytes.size()));
  return writeBlock(nullptr, &buf, 1);
}

int TlsStream::encrypt(const uv_buf_t* bufs, unsigned count) {
  std::size_t total = 0;
  for (unsigned i = 0; i < count; ++i)
    total += bufs[i].len;
  if (total == 0) return 0;
  std::array<uint8_t, kCoalesceMax> gathered; // filled before use: no zeroing
  uv_buf_t one;
  if (count > 1 && total <= kCoalesceMax) {
    std::size_t at = 0;
    for (unsigned i = 0; i < count; ++i) {
      std::memcpy(gathered.data() + at, bufs[i].base, bufs[i].len);
      at += bufs[i].len;
    }
    one = uv_buf_init(reinterpret_cast<char*>(gathered.data()), static_cast<unsigned>(total));
    bufs = &one;
    count = 1;
  }
  // No ERR_clear_error(): the queue is empty here (see readPlaintext), and a failure is a
  // failure whatever SSL_get_error() would say.
  for (unsigned i = 0; i < count; ++i) {
    if (bufs[i].len == 0) continue;
    std::size_t written = 0;
    // The write BIO takes everything: SSL_write never waits here.
    if (SSL_write_ex(ssl_, bufs[i].base, bufs[i].len, &written) != 1) {
      flushOutput(); // an alert, if OpenSSL made one
      const std::string openssl = drainOpenSslErrors();
      error_ = "TLS write failed: " + (openssl.empty() ? std::string("unknown error") : openssl);
      setState(State::Failed);
      logFailure("tls_record_failed", openssl);
      return UV_EPROTO;
    }
  }
  return flushOutput();
}

void TlsStream::sendCloseNotify() {
  if (close_notify_sent_) return;
  close_notify_sent_ = true;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
  flushOutput();
}

void TlsStream::shutdownWrite() {
  if (closing_ || shutdown_wanted_) return;
  shutdown_wanted_ = true;
  switch (state_) {
  case State::Open:
    sendCloseNotify();
    tcp_->shutdownWrite();
    return;
  case State::Failed:
    tcp_->shutdownWrite();
    return;
  case State::Connecting:
  case State::Handshaking:
    return; // after the handshake and the held writes (onHandshakeDone)
  }
}

// ---------------------------------------------------------------- closing

void TlsStream::close() {
  if (closing_) return;
  // Best effort: a close_notify goes out with whatever the kernel takes now.
  if (state_ == State::Open) sendCloseNotify();
  closing_ = true;
  reading_ = false;
  releaseInput(); // nothing reads it any more
  closes_pending_ = 2;
  uv_close(reinterpret_cast<uv_handle_t*>(&resume_), &TlsStream::onResumeClosed);
  tcp_->close();
}

void TlsStream::onResumeClosed(uv_handle_t* handle) {
  static_cast<TlsStream*>(handle->data)->handleClosed();
}

void TlsStream::onStreamClosed(Stream&) {
  handleClosed();
}

void TlsStream::handleClosed() {
  if (--closes_pending_ == 0) events_.onStreamClosed(*this);
}

void TlsStream::onStreamDrained(Stream&) {
  // The handshake's own writes are no concern of the owner's.
  if (state_ == State::Open || state_ == State::Failed) events_.onStreamDrained(*this);
}

} // namespace wsgate::proxy
