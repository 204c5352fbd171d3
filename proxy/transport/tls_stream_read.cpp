// TlsStream's record input: reading ciphertext from the TCP stream, delivering plaintext to
// the owner, and the end of the stream.
#include "proxy/transport/tls_stream.h"

#include <algorithm>
#include <cstring>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace wsgate::proxy {

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

} // namespace wsgate::proxy
