// TlsStream: making a stream, writing and closing. Reading is in tls_stream_read.cpp, the
// handshake and its failures in tls_stream_handshake.cpp, the BIOs in tls_stream_bio.cpp.
#include "proxy/transport/tls_stream.h"

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

bool isIpLiteral(const std::string& host) {
  std::array<unsigned char, 16> scratch{};
  return inet_pton(AF_INET, host.c_str(), scratch.data()) == 1 ||
         inet_pton(AF_INET6, host.c_str(), scratch.data()) == 1;
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
