#include "proxy/transport/uring_listener.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace wsgate::proxy {
namespace {

int openSpare() {
  return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

} // namespace

UringListener::UringListener(UringEngine& engine, int fd, std::function<void(int)> on_accept,
                             std::function<void(int)> on_error)
    : engine_(engine), fd_(fd), on_accept_(std::move(on_accept)), on_error_(std::move(on_error)) {
  // Non-blocking for dropPending()'s own accepts; the ring's accept does not mind.
  const int flags = fcntl(fd_, F_GETFL);
  if (flags >= 0) fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
  spare_fd_ = openSpare();
}

UringListener::~UringListener() {
  engine_.unschedule(*this);
  if (fd_ >= 0) ::close(fd_); // only when the worker ends without closing its listeners
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

void UringListener::start() {
  if (accepting_ || closing_) return;
  io_uring_sqe* sqe = engine_.prepare(*this, Accept);
  io_uring_prep_multishot_accept(sqe, fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  accepting_ = true;
}

void UringListener::close() {
  if (closing_ || fd_ < 0) return;
  closing_ = true;
  io_uring_sqe* sqe = engine_.prepare(*this, Cancel);
  io_uring_prep_cancel_fd(sqe, fd_, IORING_ASYNC_CANCEL_ALL);
  sqe->flags |= IOSQE_IO_HARDLINK;
  sqe = engine_.prepare(*this, Close);
  io_uring_prep_close(sqe, fd_);
}

void UringListener::onCompletion(unsigned op, int result, unsigned flags) {
  if (op == Close) {
    fd_ = -1;
    return;
  }
  if (op != Accept) return;
  if ((flags & IORING_CQE_F_MORE) == 0) accepting_ = false;
  if (result >= 0) {
    if (closing_) {
      ::close(result);
    } else {
      on_accept_(result);
    }
  } else if (result != -ECANCELED && !closing_) {
    if (result == -EMFILE || result == -ENFILE) dropPending();
    on_error_(result);
  }
  // Arm again before the next submission (after a failure, too: the pending connections that
  // caused it are gone).
  if (!accepting_ && !closing_) engine_.schedule(*this);
}

void UringListener::runScheduled() {
  start();
}

// Accepts and closes every pending connection with the spare descriptor's slot, so the clients
// see their connection closed instead of waiting, and the accept does not fail again at once.
void UringListener::dropPending() {
  if (spare_fd_ < 0) return;
  ::close(spare_fd_);
  for (int i = 0; i < 1024; ++i) {
    const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) break;
    ::close(fd);
  }
  spare_fd_ = openSpare();
}

} // namespace wsgate::proxy
