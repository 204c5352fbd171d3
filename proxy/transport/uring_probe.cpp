// UringEngine::probe(): can this process use io_uring the way the engine does? Kernels before
// 5.19 lack multishot accept, 6.0 multishot receive; container runtimes often refuse
// io_uring_setup with seccomp (EPERM, ENOSYS); sysctl kernel.io_uring_disabled refuses it too.
#include "proxy/transport/uring_engine.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

namespace wsgate::proxy {
namespace {

std::string failed(const char* what, int error) {
  return std::string(what) + ": " + std::strerror(error);
}

// The descriptors and the ring of one probe, released whatever happens.
struct ProbeRing {
  io_uring ring{};
  bool ready = false;
  int listener = -1;
  int client = -1;
  void* buffers = nullptr;
  std::size_t buffers_size = 0;
  ~ProbeRing() {
    if (ready) io_uring_queue_exit(&ring);
    if (listener >= 0) ::close(listener);
    if (client >= 0) ::close(client);
    if (buffers != nullptr) munmap(buffers, buffers_size);
  }
};

std::string checkOpcodes(io_uring& ring) {
  io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  if (probe == nullptr) return "io_uring_register(IORING_REGISTER_PROBE) failed";
  static constexpr struct {
    int op;
    const char* name;
  } kNeeded[] = {{IORING_OP_ACCEPT, "accept"},
                 {IORING_OP_RECV, "recv"},
                 {IORING_OP_SEND, "send"},
                 {IORING_OP_SENDMSG, "sendmsg"},
                 {IORING_OP_CONNECT, "connect"},
                 {IORING_OP_SHUTDOWN, "shutdown"},
                 {IORING_OP_CLOSE, "close"},
                 {IORING_OP_POLL_ADD, "poll_add"},
                 {IORING_OP_ASYNC_CANCEL, "async_cancel"},
                 {IORING_OP_PROVIDE_BUFFERS, "provide_buffers"}};
  std::string missing;
  for (const auto& needed : kNeeded) {
    if (!io_uring_opcode_supported(probe, needed.op)) missing += std::string(" ") + needed.name;
  }
  io_uring_free_probe(probe);
  return missing.empty() ? "" : "io_uring lacks the operations" + missing;
}

// Waits for one completion of `ring` for up to a second.
std::string waitOne(io_uring& ring, const char* what, io_uring_cqe*& cqe) {
  __kernel_timespec timeout{};
  timeout.tv_sec = 1;
  const int rc = io_uring_wait_cqe_timeout(&ring, &cqe, &timeout);
  if (rc < 0) return failed(what, -rc);
  return "";
}

// A multishot accept of a loopback connection, then a multishot receive of one byte into a
// provided-buffer ring: the operations the engine depends on, for real.
std::string tryMultishot(ProbeRing& p) {
  p.listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (p.listener < 0 || ::bind(p.listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(p.listener, 4) != 0 ||
      ::getsockname(p.listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return failed("a loopback socket for the probe", errno);
  }
  io_uring_sqe* sqe = io_uring_get_sqe(&p.ring);
  io_uring_prep_multishot_accept(sqe, p.listener, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_submit(&p.ring);
  p.client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (p.client < 0 || ::connect(p.client, reinterpret_cast<sockaddr*>(&address), length) != 0) {
    return failed("a loopback connection for the probe", errno);
  }
  io_uring_cqe* cqe = nullptr;
  if (auto error = waitOne(p.ring, "multishot accept", cqe); !error.empty()) return error;
  const int accepted = cqe->res;
  const bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
  io_uring_cqe_seen(&p.ring, cqe);
  if (accepted < 0) return failed("multishot accept", -accepted);
  ::close(accepted);
  if (!more) return "multishot accept is not supported (kernel 5.19 or later)";

  p.buffers_size = sizeof(io_uring_buf) * 2;
  p.buffers =
      mmap(nullptr, p.buffers_size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (p.buffers == MAP_FAILED) {
    p.buffers = nullptr;
    return failed("mmap", errno);
  }
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uintptr_t>(p.buffers);
  reg.ring_entries = 2;
  reg.bgid = 0;
  const int rc = io_uring_register_buf_ring(&p.ring, &reg, 0);
  if (rc < 0) return failed("io_uring_register_buf_ring (kernel 5.19 or later)", -rc);
  return "";
}

} // namespace

std::string UringEngine::probe() {
  ProbeRing p;
  const int rc = io_uring_queue_init(8, &p.ring, 0);
  if (rc < 0) {
    if (rc == -EPERM || rc == -ENOSYS) {
      return failed("io_uring_setup (refused: seccomp, or sysctl kernel.io_uring_disabled)", -rc);
    }
    return failed("io_uring_setup", -rc);
  }
  p.ready = true;
  if (auto error = checkOpcodes(p.ring); !error.empty()) return error;
  if (auto error = tryMultishot(p); !error.empty()) return error;
  // A multishot receive: kernel 6.0 or later.
  auto* ring = static_cast<io_uring_buf_ring*>(p.buffers);
  io_uring_buf_ring_init(ring);
  char bytes[2][16];
  for (unsigned short i = 0; i < 2; ++i)
    io_uring_buf_ring_add(ring, bytes[i], sizeof bytes[i], i, io_uring_buf_ring_mask(2), i);
  io_uring_buf_ring_advance(ring, 2);
  // The client's own end carries the receive: a byte sent from a second socket pair would need
  // another accept; a socketpair works with the same operations.
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    return failed("socketpair", errno);
  }
  io_uring_sqe* sqe = io_uring_get_sqe(&p.ring);
  io_uring_prep_recv_multishot(sqe, pair[0], nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = 0;
  io_uring_submit(&p.ring);
  std::string error;
  if (::write(pair[1], "x", 1) != 1) error = failed("write", errno);
  io_uring_cqe* cqe = nullptr;
  if (error.empty()) error = waitOne(p.ring, "multishot receive", cqe);
  if (error.empty()) {
    if (cqe->res != 1) {
      error = failed("multishot receive (kernel 6.0 or later)", cqe->res < 0 ? -cqe->res : EIO);
    } else if ((cqe->flags & IORING_CQE_F_MORE) == 0) {
      error = "multishot receive is not supported (kernel 6.0 or later)";
    }
    io_uring_cqe_seen(&p.ring, cqe);
  }
  ::close(pair[0]);
  ::close(pair[1]);
  return error;
}

} // namespace wsgate::proxy
