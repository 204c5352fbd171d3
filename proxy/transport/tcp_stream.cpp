#include "proxy/transport/tcp_stream.h"

#include "proxy/transport/address.h"

#include <cstring>
#include <memory>
#include <vector>

namespace wsgate::proxy {

// A write that could not complete at once. It holds a reference to the block whose bytes it
// sends, or owns a copy of small bytes.
struct TcpStream::WriteRequest {
  uv_write_t req{};
  TcpStream* stream = nullptr;
  Block* block = nullptr;
  std::vector<uint8_t> copy;
};

TcpStream::TcpStream(uv_loop_t* loop, BufferPool& pool, StreamEvents& events)
    : pool_(pool), events_(events) {
  uv_tcp_init(loop, &tcp_);
  tcp_.data = this;
}

int TcpStream::accept(uv_stream_t* server) {
  return uv_accept(server, stream());
}

int TcpStream::connect(const sockaddr* address) {
  auto* request = new uv_connect_t;
  request->data = this;
  const int rc = uv_tcp_connect(request, &tcp_, address, &TcpStream::onConnect);
  if (rc != 0) delete request;
  return rc;
}

void TcpStream::setNoDelay() {
  uv_tcp_nodelay(&tcp_, 1);
}

void TcpStream::onConnect(uv_connect_t* req, int status) {
  auto* self = static_cast<TcpStream*>(req->data);
  delete req;
  if (status == UV_ECANCELED) return; // closed while connecting
  self->events_.onStreamConnect(*self, status);
}

int TcpStream::startRead() {
  if (reading_ || closing_) return 0;
  const int rc = uv_read_start(stream(), &TcpStream::onAlloc, &TcpStream::onRead);
  if (rc == 0) reading_ = true;
  return rc;
}

void TcpStream::stopRead() {
  if (!reading_) return;
  uv_read_stop(stream());
  reading_ = false;
}

void TcpStream::onAlloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
  auto* self = static_cast<TcpStream*>(handle->data);
  if (self->reading_block_ == nullptr) self->reading_block_ = self->pool_.acquire();
  *buf = uv_buf_init(reinterpret_cast<char*>(self->reading_block_->data.data()),
                     static_cast<unsigned>(kBlockSize));
}

void TcpStream::onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t*) {
  auto* self = static_cast<TcpStream*>(stream->data);
  Block* block = self->reading_block_;
  self->reading_block_ = nullptr;
  if (nread > 0) {
    self->events_.onStreamData(*self, block, static_cast<std::size_t>(nread));
  }
  if (block != nullptr) self->pool_.release(block);
  if (nread < 0) {
    self->stopRead();
    self->events_.onStreamEnd(*self, static_cast<int>(nread));
  }
}

int TcpStream::queue(WriteRequest* request, const uv_buf_t* bufs, unsigned count) {
  request->stream = this;
  request->req.data = request;
  const int rc = uv_write(&request->req, stream(), bufs, count, &TcpStream::onWrite);
  if (rc != 0) {
    if (request->block != nullptr) pool_.release(request->block);
    delete request;
  }
  return rc;
}

int TcpStream::writeBlock(Block* block, const uv_buf_t* bufs, unsigned count) {
  if (closing_) return UV_EPIPE;
  // Try the kernel first: most forwards complete here and never allocate.
  std::size_t total = 0;
  for (unsigned i = 0; i < count; ++i)
    total += bufs[i].len;
  bytes_written_ += total;
  int written = uv_try_write(stream(), bufs, count);
  if (written == UV_EAGAIN || written == UV_ENOSYS) written = 0;
  if (written < 0) return written;
  if (static_cast<std::size_t>(written) == total) return 0;
  // Queue what is left, skipping the bytes already written.
  uv_buf_t rest[8];
  unsigned n = 0;
  auto skip = static_cast<std::size_t>(written);
  for (unsigned i = 0; i < count && n < 8; ++i) {
    if (skip >= bufs[i].len) {
      skip -= bufs[i].len;
      continue;
    }
    rest[n++] = uv_buf_init(bufs[i].base + skip, static_cast<unsigned>(bufs[i].len - skip));
    skip = 0;
  }
  auto* request = new WriteRequest;
  BufferPool::ref(block);
  request->block = block;
  return queue(request, rest, n);
}

int TcpStream::writeCopy(std::span<const uint8_t> bytes) {
  if (closing_) return UV_EPIPE;
  bytes_written_ += bytes.size();
  uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(bytes.data())),
                             static_cast<unsigned>(bytes.size()));
  int written = uv_try_write(stream(), &buf, 1);
  if (written == UV_EAGAIN || written == UV_ENOSYS) written = 0;
  if (written < 0) return written;
  if (static_cast<std::size_t>(written) == bytes.size()) return 0;
  auto* request = new WriteRequest;
  request->copy.assign(bytes.begin() + written, bytes.end());
  buf = uv_buf_init(reinterpret_cast<char*>(request->copy.data()),
                    static_cast<unsigned>(request->copy.size()));
  return queue(request, &buf, 1);
}

void TcpStream::onWrite(uv_write_t* req, int status) {
  std::unique_ptr<WriteRequest> request(static_cast<WriteRequest*>(req->data));
  TcpStream* self = request->stream;
  if (request->block != nullptr) self->pool_.release(request->block);
  if (status == UV_ECANCELED) return;
  self->events_.onStreamDrained(*self);
}

void TcpStream::shutdownWrite() {
  if (closing_ || shutting_down_) return;
  shutting_down_ = true;
  auto* request = new uv_shutdown_t;
  request->data = this;
  if (uv_shutdown(request, stream(), &TcpStream::onShutdown) != 0) {
    delete request;
    shutting_down_ = false;
  }
}

void TcpStream::onShutdown(uv_shutdown_t* req, int) {
  delete req;
}

void TcpStream::close() {
  if (closing_) return;
  closing_ = true;
  reading_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &TcpStream::onClose);
}

void TcpStream::onClose(uv_handle_t* handle) {
  auto* self = static_cast<TcpStream*>(handle->data);
  if (self->reading_block_ != nullptr) {
    self->pool_.release(self->reading_block_);
    self->reading_block_ = nullptr;
  }
  self->events_.onStreamClosed(*self);
}

std::string TcpStream::peerAddress() const {
  sockaddr_storage storage{};
  int length = sizeof storage;
  if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return "";
  return formatSockaddr(reinterpret_cast<const sockaddr*>(&storage));
}

} // namespace wsgate::proxy
