// TlsStream's two BIOs, which hold no buffer of their own: OpenSSL reads ciphertext straight
// from the TCP stream's pooled blocks and writes its records straight into pooled blocks for
// the TCP stream (see the class comment and the members they use).
#include "proxy/transport/tls_stream.h"

#include <algorithm>
#include <cstring>
#include <openssl/bio.h>
#include <openssl/ssl.h>

namespace wsgate::proxy {

namespace {

// What OpenSSL 3.0 asks of a TLS connection's BIOs besides reading and writing: FLUSH after
// each handshake flight and alert, the KTLS queries on every record (0: not offloaded), EOF
// after a read that failed without a retry (never happens here), PUSH and POP when the
// handshake puts its buffering BIO in front of the write BIO, and the close flag. PENDING and
// WPENDING are answered by each BIO's own ctrl.
long commonCtrl(BIO* bio, int cmd, long num) {
  switch (cmd) {
  case BIO_CTRL_FLUSH:
    // Every operation that runs OpenSSL ends with flushOutput(), which hands the bytes to the
    // TCP stream: a whole flight then goes out in one write.
    return 1;
  case BIO_CTRL_GET_CLOSE:
    return BIO_get_shutdown(bio);
  case BIO_CTRL_SET_CLOSE:
    BIO_set_shutdown(bio, static_cast<int>(num));
    return 1;
  default:
    // Also BIO_CTRL_DUP: a copy would share this stream's bytes, so it is refused.
    return 0;
  }
}

// A source/sink BIO type with the given callbacks (a null one is left unset), or nullptr.
BIO_METHOD* newBioMethod(const char* name, int (*read)(BIO*, char*, int),
                         int (*write)(BIO*, const char*, int),
                         long (*ctrl)(BIO*, int, long, void*)) {
  const int index = BIO_get_new_index();
  BIO_METHOD* method = index < 0 ? nullptr : BIO_meth_new(index | BIO_TYPE_SOURCE_SINK, name);
  if (method == nullptr) return nullptr;
  if (read != nullptr) BIO_meth_set_read(method, read);
  if (write != nullptr) BIO_meth_set_write(method, write);
  BIO_meth_set_ctrl(method, ctrl);
  return method;
}

} // namespace

bool TlsStream::attachBios(SSL* ssl) {
  // Made once per process and shared by every stream of every worker: a BIO_METHOD does not
  // change once set up. They live as long as the process.
  static BIO_METHOD* const input =
      newBioMethod("wsgate TLS input", &TlsStream::bioRead, nullptr, &TlsStream::inputCtrl);
  static BIO_METHOD* const output =
      newBioMethod("wsgate TLS output", nullptr, &TlsStream::bioWrite, &TlsStream::outputCtrl);
  if (input == nullptr || output == nullptr) return false;
  BIO* in = BIO_new(input);
  BIO* out = BIO_new(output);
  if (in == nullptr || out == nullptr) {
    BIO_free(in);
    BIO_free(out);
    return false;
  }
  // No create callback: a BIO is ready once its stream is set as its data.
  BIO_set_init(in, 1);
  BIO_set_init(out, 1);
  SSL_set_bio(ssl, in, out); // the SSL owns both
  return true;
}

int TlsStream::bioRead(BIO* bio, char* out, int size) {
  BIO_clear_retry_flags(bio);
  auto* self = static_cast<TlsStream*>(BIO_get_data(bio));
  const std::size_t n =
      self != nullptr && size > 0
          ? self->readCiphertext(reinterpret_cast<uint8_t*>(out), static_cast<std::size_t>(size))
          : 0;
  if (n == 0) {
    // Nothing to read yet, as on a non-blocking socket: 0 would mean end of file to OpenSSL.
    BIO_set_retry_read(bio);
    return -1;
  }
  return static_cast<int>(n);
}

int TlsStream::bioWrite(BIO* bio, const char* in, int size) {
  BIO_clear_retry_flags(bio);
  auto* self = static_cast<TlsStream*>(BIO_get_data(bio));
  if (self == nullptr || size < 0) return -1;
  self->appendOutput(reinterpret_cast<const uint8_t*>(in), static_cast<std::size_t>(size));
  return size; // everything is taken: SSL_write never waits for the TCP stream
}

long TlsStream::inputCtrl(BIO* bio, int cmd, long num, void*) {
  if (cmd == BIO_CTRL_PENDING) {
    const auto* self = static_cast<const TlsStream*>(BIO_get_data(bio));
    return self != nullptr ? static_cast<long>(self->inputBytes()) : 0;
  }
  return commonCtrl(bio, cmd, num); // WPENDING: 0, nothing is written to this BIO
}

long TlsStream::outputCtrl(BIO* bio, int cmd, long num, void*) {
  if (cmd == BIO_CTRL_WPENDING) {
    const auto* self = static_cast<const TlsStream*>(BIO_get_data(bio));
    return self != nullptr ? static_cast<long>(self->output_length_) : 0;
  }
  return commonCtrl(bio, cmd, num); // PENDING: 0, nothing is read from this BIO
}

void TlsStream::takeInput(Block* block, std::size_t length) {
  if (input_block_ != nullptr) {
    // The previous block still has unread bytes (the owner stopped reading, then resumed, and
    // this block came before the resume ran): carry them over so that one block is held.
    carry_.erase(carry_.begin(), carry_.begin() + static_cast<std::ptrdiff_t>(carry_read_));
    carry_read_ = 0;
    carry_.insert(carry_.end(), input_block_->data.data() + input_offset_,
                  input_block_->data.data() + input_end_);
    pool_.release(input_block_);
  }
  // OpenSSL reads from the block itself; the reference keeps it while bytes are unread.
  BufferPool::ref(block);
  input_block_ = block;
  input_offset_ = 0;
  input_end_ = length;
}

std::size_t TlsStream::readCiphertext(uint8_t* out, std::size_t size) {
  std::size_t copied = 0;
  if (carry_read_ < carry_.size()) {
    copied = std::min(size, carry_.size() - carry_read_);
    std::memcpy(out, carry_.data() + carry_read_, copied);
    carry_read_ += copied;
    if (carry_read_ == carry_.size()) {
      std::vector<uint8_t>().swap(carry_); // frees it
      carry_read_ = 0;
    }
  }
  if (input_block_ != nullptr && copied < size) {
    const std::size_t n = std::min(size - copied, input_end_ - input_offset_);
    std::memcpy(out + copied, input_block_->data.data() + input_offset_, n);
    copied += n;
    input_offset_ += n;
    if (input_offset_ == input_end_) {
      pool_.release(input_block_);
      input_block_ = nullptr;
    }
  }
  return copied;
}

std::size_t TlsStream::inputBytes() const {
  return carry_.size() - carry_read_ + (input_block_ != nullptr ? input_end_ - input_offset_ : 0);
}

void TlsStream::releaseInput() {
  std::vector<uint8_t>().swap(carry_);
  carry_read_ = 0;
  if (input_block_ != nullptr) {
    pool_.release(input_block_);
    input_block_ = nullptr;
  }
}

std::size_t TlsStream::heldBytes() const {
  return carry_.capacity() + (input_block_ != nullptr ? kBlockSize : 0) +
         (output_block_ != nullptr ? kBlockSize : 0);
}

void TlsStream::appendOutput(const uint8_t* bytes, std::size_t size) {
  while (size > 0) {
    if (output_block_ == nullptr) {
      output_block_ = pool_.acquire();
      output_length_ = 0;
    }
    const std::size_t n = std::min(size, kBlockSize - output_length_);
    std::memcpy(output_block_->data.data() + output_length_, bytes, n);
    output_length_ += n;
    bytes += n;
    size -= n;
    if (output_length_ == kBlockSize) sendOutputBlock();
  }
}

void TlsStream::sendOutputBlock() {
  Block* block = output_block_;
  const uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(block->data.data()),
                                   static_cast<unsigned>(output_length_));
  output_block_ = nullptr;
  output_length_ = 0;
  // The TCP stream takes a reference of its own when it has to queue the bytes.
  const int rc = tcp_->writeBlock(block, &buf, 1);
  pool_.release(block);
  if (rc != 0 && output_error_ == 0) output_error_ = rc;
}

int TlsStream::flushOutput() {
  if (output_block_ != nullptr) sendOutputBlock();
  const int rc = output_error_;
  output_error_ = 0;
  return rc;
}

} // namespace wsgate::proxy
