#include "proxy/transport/tcp_stream.h"

#include "proxy/transport/address.h"

#include <cstring>
#include <memory>
#include <poll.h>
#include <sys/epoll.h>
#include <vector>

namespace wsgate::proxy {
namespace {

// After this many reads in a row that fill a whole block, the socket goes back to
// level-triggered: libuv reads at most 32 times per readiness event, and an edge-triggered
// socket it stopped reading with bytes left would not be reported again.
constexpr uint8_t kFullReadsBeforeLevel = 16;
// Short reads before the socket is switched to edge-triggered: a connection that only carries
// its upgrade and close handshakes (3 reads on each leg) never pays the epoll_ctl.
constexpr uint8_t kShortReadsBeforeEdge = 4;

} // namespace

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

int TcpStream::accept(const AcceptedSocket& from) {
  return uv_accept(from.server, stream());
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
  edge_ = false; // libuv registers the socket again, level-triggered
  const int rc = uv_read_start(stream(), &TcpStream::onAlloc, &TcpStream::onRead);
  if (rc == 0) reading_ = true;
  return rc;
}

void TcpStream::stopRead() {
  if (!reading_) return;
  uv_read_stop(stream());
  reading_ = false;
  edge_ = false;
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
    self->pickTrigger(static_cast<std::size_t>(nread));
    self->events_.onStreamData(*self, block, static_cast<std::size_t>(nread));
  }
  if (block != nullptr) self->pool_.release(block);
  if (nread < 0) {
    self->stopRead();
    self->events_.onStreamEnd(*self, static_cast<int>(nread));
  }
}

// libuv registers sockets with epoll level-triggered, so every epoll_wait polls each socket it
// reported last time once more, only to find most of them drained (tcp_poll, sock_poll: 2 to 4 %
// of the CPU in the 64 B echo benchmarks, where nginx, edge-triggered, pays half). libuv has no
// edge-triggered streams, so while the socket's registration is steady (reading, nothing queued
// to write) this switches libuv's own registration to edge-triggered, with the same events and
// the same epoll data (the fd) libuv gave it. That is safe with libuv's read loop, which reads
// until a read comes back short (the socket is drained; new bytes raise a new edge), except after
// its 32nd read in a row: hence kFullReadsBeforeLevel. Whenever libuv changes the registration
// (uv_write queueing, uv_read_start/stop, uv_shutdown) it writes it back level-triggered, which
// is always correct; edge_ is cleared there and set again on a later short read.
void TcpStream::pickTrigger(std::size_t nread) {
  if (nread < kBlockSize) {
    full_reads_ = 0;
    if (short_reads_ < kShortReadsBeforeEdge) {
      ++short_reads_;
    } else if (!edge_) {
      setTrigger(true);
    }
  } else if (++full_reads_ == kFullReadsBeforeLevel) {
    // Unconditionally: a uv_write that completed at once leaves edge_ cleared but the
    // registration edge-triggered.
    setTrigger(false);
  }
}

void TcpStream::setTrigger(bool edge) {
  const uv__io_t& watcher = tcp_.io_watcher;
  // Only when libuv has registered exactly POLLIN and has no change of it pending.
  if (watcher.pevents != POLLIN || watcher.events != POLLIN || watcher.fd < 0) return;
  epoll_event event{};
  event.events = EPOLLIN | (edge ? EPOLLET : 0U);
  event.data.fd = watcher.fd;
  if (epoll_ctl(uv_backend_fd(tcp_.loop), EPOLL_CTL_MOD, watcher.fd, &event) == 0) edge_ = edge;
}

int TcpStream::queue(WriteRequest* request, const uv_buf_t* bufs, unsigned count) {
  edge_ = false; // uv_write adds POLLOUT, and libuv registers the socket again
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
  edge_ = false; // uv_shutdown waits for POLLOUT
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
