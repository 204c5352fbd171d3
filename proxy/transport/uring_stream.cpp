#include "proxy/transport/uring_stream.h"

#include "proxy/transport/address.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

namespace wsgate::proxy {

UringStream::UringStream(UringEngine& engine, StreamEvents& events)
    : engine_(engine), events_(events) {}

UringStream::~UringStream() {
  // Only a stream never opened, or one whose close completed, is destroyed: nothing of it is
  // in flight. What it still holds goes back to the pool.
  engine_.unschedule(*this);
  for (const Received& received : held_)
    engine_.pool().release(received.block);
  dropQueue();
  if (fd_ >= 0) ::close(fd_);
}

uint64_t UringStream::userData(Op op) const {
  return reinterpret_cast<uintptr_t>(static_cast<const UringOwner*>(this)) | op;
}

int UringStream::accept(const AcceptedSocket& from) {
  if (from.fd < 0) return UV_EBADF;
  fd_ = from.fd;
  return 0;
}

int UringStream::connect(const sockaddr* address) {
  if (fd_ >= 0 || closing_) return UV_EALREADY;
  const socklen_t length =
      address->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  fd_ = ::socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return -errno;
  connect_address_ = std::make_unique<sockaddr_storage>();
  std::memcpy(connect_address_.get(), address, length);
  io_uring_sqe* sqe = engine_.prepare(*this, Connect);
  io_uring_prep_connect(sqe, fd_, reinterpret_cast<sockaddr*>(connect_address_.get()), length);
  ++operations_;
  return 0;
}

void UringStream::setNoDelay() {
  const int one = 1;
  if (fd_ >= 0) setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

std::string UringStream::peerAddress() const {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (fd_ < 0 || getpeername(fd_, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return "";
  return formatSockaddr(reinterpret_cast<const sockaddr*>(&storage));
}

int UringStream::startRead() {
  if (reading_ || closing_) return 0;
  if (fd_ < 0) return UV_ENOTCONN;
  reading_ = true;
  // Held data and a held end are delivered, or the receive armed, before the next submission.
  engine_.schedule(*this);
  return 0;
}

void UringStream::stopRead() {
  if (!reading_) return;
  reading_ = false;
  if (!receiving_ || recv_cancelled_) return;
  recv_cancelled_ = true;
  io_uring_sqe* sqe = engine_.prepare(*this, Cancel);
  io_uring_prep_cancel64(sqe, userData(Recv), 0);
  ++operations_;
}

void UringStream::armReceive() {
  if (receiving_ || ended_ || closing_ || !reading_) return;
  io_uring_sqe* sqe = engine_.prepare(*this, Recv);
  io_uring_prep_recv_multishot(sqe, fd_, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = UringEngine::kBufferGroup;
  receiving_ = true;
  recv_cancelled_ = false;
  ++operations_;
}

void UringStream::runScheduled() {
  if (closing_) {
    maybeClosed(); // may destroy the stream
    return;
  }
  if (reading_) deliverHeld();
  if (closing_) {
    maybeClosed();
    return;
  }
  armReceive();
  sendQueued();
}

// Delivers what arrived while the owner did not read, as long as it reads.
void UringStream::deliverHeld() {
  while (reading_ && !closing_ && !held_.empty()) {
    const Received received = held_.front();
    held_.erase(held_.begin()); // out of held_ before the owner may close the stream
    events_.onStreamData(*this, received.block, received.length);
    engine_.pool().release(received.block);
  }
  if (reading_ && !closing_ && held_.empty() && ended_) {
    // libuv reports the end again to a reader that starts after it; so does this stream.
    end_held_ = false;
    reading_ = false;
    events_.onStreamEnd(*this, end_status_);
  }
}

void UringStream::onCompletion(unsigned op, int result, unsigned flags) {
  const bool last = (flags & IORING_CQE_F_MORE) == 0;
  switch (op) {
  case Recv:
    onReceived(result, flags);
    break;
  case Send:
    onSent(result);
    break;
  case Connect:
    connect_address_.reset();
    // A connect ended by close() is not reported (libuv's UV_ECANCELED, which TcpStream drops).
    if (!closing_) events_.onStreamConnect(*this, result);
    break;
  case Close:
    fd_ = -1;
    closed_ = true;
    break;
  default: // Cancel, FinalSend: nothing waits for them
    break;
  }
  if (last) --operations_;
  maybeClosed(); // may destroy the stream
}

void UringStream::onReceived(int result, unsigned flags) {
  if (result > 0) {
    Block* block = engine_.takeBuffer(flags);
    const auto length = static_cast<std::size_t>(result);
    if (closing_) {
      engine_.pool().release(block);
    } else if (reading_ && held_.empty()) {
      events_.onStreamData(*this, block, length);
      engine_.pool().release(block);
    } else {
      held_.push_back({block, length});
    }
  } else if (result != -ENOBUFS && result != -ECANCELED && !ended_) {
    ended_ = true;
    end_status_ = result == 0 ? UV_EOF : result; // libuv's errors are -errno on Linux
    if (!closing_) {
      if (reading_ && held_.empty()) {
        reading_ = false;
        events_.onStreamEnd(*this, end_status_);
      } else {
        end_held_ = true;
      }
    }
  }
  if ((flags & IORING_CQE_F_MORE) == 0) {
    // The multishot receive ended (cancelled, out of ring buffers, the end): arm it again when
    // the owner still reads, before the next submission, or in turn when buffers ran out.
    receiving_ = false;
    recv_cancelled_ = false;
    if (reading_ && !closing_ && !ended_) {
      if (result == -ENOBUFS) {
        engine_.starved(*this);
      } else {
        engine_.schedule(*this);
      }
    }
  }
}

void UringStream::enqueue(Chunk chunk) {
  queued_bytes_ += chunk.length;
  queue_.push_back(std::move(chunk));
  if (!sending_) engine_.schedule(*this);
}

int UringStream::writeBlock(Block* block, const uv_buf_t* bufs, unsigned count) {
  if (closing_ || shutdown_wanted_) return UV_EPIPE;
  if (write_error_ != 0) return write_error_;
  if (fd_ < 0) return UV_ENOTCONN;
  for (unsigned i = 0; i < count; ++i) {
    if (bufs[i].len == 0) continue;
    BufferPool::ref(block);
    Chunk chunk;
    chunk.block = block;
    chunk.data = reinterpret_cast<const uint8_t*>(bufs[i].base);
    chunk.length = bufs[i].len;
    bytes_written_ += chunk.length;
    enqueue(std::move(chunk));
  }
  return 0;
}

int UringStream::writeCopy(std::span<const uint8_t> bytes) {
  if (closing_ || shutdown_wanted_) return UV_EPIPE;
  if (write_error_ != 0) return write_error_;
  if (fd_ < 0) return UV_ENOTCONN;
  if (bytes.empty()) return 0;
  Chunk chunk;
  chunk.copy = std::make_unique<uint8_t[]>(bytes.size());
  std::memcpy(chunk.copy.get(), bytes.data(), bytes.size());
  chunk.data = chunk.copy.get();
  chunk.length = bytes.size();
  bytes_written_ += chunk.length;
  enqueue(std::move(chunk));
  return 0;
}

unsigned UringStream::gather() {
  const std::size_t count = std::min<std::size_t>(queue_.size(), kMaxIov);
  iov_.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t skip = i == 0 ? head_sent_ : 0;
    iov_[i].iov_base = const_cast<uint8_t*>(queue_[i].data + skip);
    iov_[i].iov_len = queue_[i].length - skip;
  }
  return static_cast<unsigned>(count);
}

// One send of everything queued (up to kMaxIov ranges); the next goes when it completes.
void UringStream::sendQueued() {
  if (sending_ || closing_ || fd_ < 0) return;
  if (queue_.empty()) {
    if (shutdown_wanted_ && !shutdown_sent_) {
      // Not a ring operation: the ring runs a shutdown on a worker thread (it never completes
      // without blocking), a thread handoff per connection, and the descriptor could not be
      // closed before it ran. The system call does not block.
      shutdown_sent_ = true;
      ::shutdown(fd_, SHUT_WR);
    }
    return;
  }
  const unsigned count = gather();
  io_uring_sqe* sqe = engine_.prepare(*this, Send);
  if (count == 1) {
    io_uring_prep_send(sqe, fd_, iov_[0].iov_base, iov_[0].iov_len, MSG_NOSIGNAL);
  } else {
    message_ = msghdr{};
    message_.msg_iov = iov_.data();
    message_.msg_iovlen = count;
    io_uring_prep_sendmsg(sqe, fd_, &message_, MSG_NOSIGNAL);
  }
  sending_ = true;
  ++operations_;
}

// The first `bytes` of the queue went out: release the chunks sent whole.
void UringStream::consume(std::size_t bytes) {
  queued_bytes_ -= std::min(bytes, queued_bytes_);
  std::size_t done = 0;
  while (done < queue_.size() && bytes > 0) {
    Chunk& chunk = queue_[done];
    const std::size_t left = chunk.length - head_sent_;
    if (bytes < left) {
      head_sent_ += bytes;
      break;
    }
    bytes -= left;
    head_sent_ = 0;
    if (chunk.block != nullptr) engine_.pool().release(chunk.block);
    ++done;
  }
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(done));
}

void UringStream::dropQueue() {
  for (Chunk& chunk : queue_) {
    if (chunk.block != nullptr) engine_.pool().release(chunk.block);
  }
  queue_.clear();
  head_sent_ = 0;
  queued_bytes_ = 0;
}

void UringStream::onSent(int result) {
  sending_ = false;
  if (result > 0) consume(static_cast<std::size_t>(result));
  if (closing_) {
    finishClose();
    return;
  }
  if (result < 0 && result != -ECANCELED) {
    // The connection failed: nothing queued can go out any more. The receive side reports it.
    write_error_ = result;
    dropQueue();
  }
  if (!queue_.empty() || shutdown_wanted_) engine_.schedule(*this);
  events_.onStreamDrained(*this);
}

void UringStream::shutdownWrite() {
  if (closing_ || shutdown_wanted_) return;
  shutdown_wanted_ = true;
  if (fd_ >= 0 && !sending_) engine_.schedule(*this);
}

void UringStream::close() {
  if (closing_) return;
  closing_ = true;
  reading_ = false;
  for (const Received& received : held_)
    engine_.pool().release(received.block);
  held_.clear();
  if (sending_) {
    // The close chain resends what this send has not sent; first learn how far it got.
    io_uring_sqe* sqe = engine_.prepare(*this, Cancel);
    io_uring_prep_cancel64(sqe, userData(Send), 0);
    ++operations_;
    return;
  }
  finishClose();
}

// Cancels what is in flight on the descriptor, sends what is queued as far as the socket takes
// it without waiting (what an epoll stream's last try-write would), and closes the descriptor,
// in one linked chain.
void UringStream::finishClose() {
  if (close_started_) return;
  close_started_ = true;
  if (fd_ < 0) {
    closed_ = true;
    dropQueue();
    engine_.schedule(*this); // onStreamClosed from the loop, never from close() itself
    return;
  }
  io_uring_sqe* sqe = engine_.prepare(*this, Cancel);
  io_uring_prep_cancel_fd(sqe, fd_, IORING_ASYNC_CANCEL_ALL);
  sqe->flags |= IOSQE_IO_HARDLINK;
  ++operations_;
  if (!queue_.empty()) {
    const unsigned count = gather();
    message_ = msghdr{};
    message_.msg_iov = iov_.data();
    message_.msg_iovlen = count;
    sqe = engine_.prepare(*this, FinalSend);
    io_uring_prep_sendmsg(sqe, fd_, &message_, MSG_NOSIGNAL | MSG_DONTWAIT);
    sqe->flags |= IOSQE_IO_HARDLINK;
    ++operations_;
  }
  sqe = engine_.prepare(*this, Close);
  io_uring_prep_close(sqe, fd_);
  ++operations_;
}

void UringStream::maybeClosed() {
  if (!closing_ || !closed_ || operations_ != 0) return;
  dropQueue(); // the final send has completed
  engine_.unschedule(*this);
  events_.onStreamClosed(*this); // may destroy the stream
}

} // namespace wsgate::proxy
