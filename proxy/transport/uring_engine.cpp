#include "proxy/transport/uring_engine.h"

#include "proxy/core/logger.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <poll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace wsgate::proxy {
namespace {

constexpr uintptr_t kOpMask = 7;
// Completions taken from the ring at once.
constexpr unsigned kReapBatch = 256;
// Rounds of scheduled work per loop iteration before the loop is told not to block instead.
constexpr int kScheduleRounds = 8;

std::string errnoText(const char* what, int error) {
  return std::string(what) + ": " + std::strerror(error);
}

} // namespace

UringEngine::UringEngine(uv_loop_t* loop, BufferPool& pool) : loop_(loop), pool_(pool) {}

std::unique_ptr<UringEngine> UringEngine::create(uv_loop_t* loop, BufferPool& pool,
                                                 std::string& error) {
  std::unique_ptr<UringEngine> engine(new UringEngine(loop, pool));
  if (!engine->init(error)) return nullptr;
  return engine;
}

bool UringEngine::init(std::string& error) {
  loop_watch_.engine = this;
  // The best task running the kernel has: deferred (6.1), cooperative (5.19), interrupting.
  // The ring starts disabled so that the thread that runs it, not this one, becomes its single
  // issuer when it enables it.
  constexpr unsigned kBase = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
  constexpr unsigned kChoices[] = {
      kBase | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
      kBase | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
      kBase,
  };
  int rc = -EINVAL;
  for (const unsigned flags : kChoices) {
    io_uring_params params{};
    params.flags = flags;
    params.cq_entries = kCompletionEntries;
    rc = io_uring_queue_init_params(kSubmissionEntries, &ring_, &params);
    if (rc == -EINVAL) continue; // a flag this kernel does not know
    if (rc < 0) break;
    setup_flags_ = flags;
    if ((params.features & IORING_FEAT_NODROP) == 0) {
      io_uring_queue_exit(&ring_);
      error = "io_uring without IORING_FEAT_NODROP (kernel 5.5 or later)";
      return false;
    }
    break;
  }
  if (rc < 0) {
    error = errnoText("io_uring_setup", -rc);
    return false;
  }
  ring_ready_ = true;
  return initBuffers(error);
}

bool UringEngine::initBuffers(std::string& error) {
  buffers_size_ = kBuffers * sizeof(io_uring_buf);
  void* memory =
      mmap(nullptr, buffers_size_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (memory == MAP_FAILED) {
    error = errnoText("mmap", errno);
    return false;
  }
  buffers_ = static_cast<io_uring_buf_ring*>(memory);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uintptr_t>(buffers_);
  reg.ring_entries = kBuffers;
  reg.bgid = kBufferGroup;
  const int rc = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (rc < 0) {
    error = errnoText("io_uring_register_buf_ring", -rc);
    return false;
  }
  io_uring_buf_ring_init(buffers_);
  const int mask = io_uring_buf_ring_mask(kBuffers);
  blocks_.resize(kBuffers);
  for (unsigned i = 0; i < kBuffers; ++i) {
    blocks_[i] = pool_.acquire();
    io_uring_buf_ring_add(buffers_, blocks_[i]->data.data(), kBlockSize,
                          static_cast<unsigned short>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(buffers_, static_cast<int>(kBuffers));
  return true;
}

UringEngine::~UringEngine() {
  if (ring_ready_) io_uring_queue_exit(&ring_); // ends whatever is still in flight
  for (Block* block : blocks_)
    pool_.release(block);
  if (buffers_ != nullptr) munmap(buffers_, buffers_size_);
}

io_uring_sqe* UringEngine::prepare(UringOwner& owner, unsigned op) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {
    // The submission queue is full: hand it to the kernel now (it takes what it can even
    // while completions wait to be reaped: IORING_FEAT_NODROP).
    const int rc = io_uring_submit(&ring_);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      logText(log::Level::Error, "io_uring_submit_failed", std::strerror(-rc));
      std::abort(); // no operation could ever be prepared again
    }
    sqe = io_uring_get_sqe(&ring_);
  }
  io_uring_sqe_set_data64(sqe, reinterpret_cast<uintptr_t>(&owner) | (op & kOpMask));
  ++in_flight_;
  return sqe;
}

Block* UringEngine::takeBuffer(unsigned flags) {
  const unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
  Block* block = blocks_[bid];
  Block* fresh = pool_.acquire();
  blocks_[bid] = fresh;
  io_uring_buf_ring_add(buffers_, fresh->data.data(), kBlockSize, static_cast<unsigned short>(bid),
                        io_uring_buf_ring_mask(kBuffers), 0);
  io_uring_buf_ring_advance(buffers_, 1);
  return block;
}

void UringEngine::schedule(UringOwner& owner) {
  if (owner.scheduled_) return;
  owner.scheduled_ = true;
  scheduled_.push_back(&owner);
}

void UringEngine::starved(UringOwner& owner) {
  if (owner.starved_) return;
  owner.starved_ = true;
  starved_.push_back(&owner);
}

void UringEngine::unschedule(UringOwner& owner) {
  if (owner.starved_) {
    owner.starved_ = false;
    std::erase(starved_, &owner);
  }
  if (!owner.scheduled_) return;
  owner.scheduled_ = false;
  std::erase(scheduled_, &owner);
  if (current_batch_ != nullptr) {
    std::replace(current_batch_->begin(), current_batch_->end(), &owner,
                 static_cast<UringOwner*>(nullptr));
  }
}

void UringEngine::reap() {
  io_uring_cqe* cqes[kReapBatch];
  for (;;) {
    const unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, kReapBatch);
    if (n == 0) break;
    for (unsigned i = 0; i < n; ++i) {
      const uint64_t data = io_uring_cqe_get_data64(cqes[i]);
      const int result = cqes[i]->res;
      const unsigned flags = cqes[i]->flags;
      if ((flags & IORING_CQE_F_MORE) == 0) --in_flight_;
      // The owner may be destroyed by this call; nothing below touches it.
      reinterpret_cast<UringOwner*>(data & ~kOpMask) // NOLINT(performance-no-int-to-ptr)
          ->onCompletion(static_cast<unsigned>(data & kOpMask), result, flags);
    }
    io_uring_cq_advance(&ring_, n);
  }
}

void UringEngine::runSchedule() {
  std::vector<UringOwner*> batch;
  for (int round = 0; round < kScheduleRounds && !scheduled_.empty(); ++round) {
    batch.swap(scheduled_);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      UringOwner* owner = batch[i];
      // An owner destroyed by an earlier owner's work has unscheduled itself from `batch` too.
      if (owner == nullptr || !owner->scheduled_) continue;
      owner->scheduled_ = false;
      current_batch_ = &batch;
      owner->runScheduled();
    }
    current_batch_ = nullptr;
    batch.clear();
  }
  // Starved owners in turn, as many as the ring has buffers.
  for (unsigned i = 0; i < kBuffers && !starved_.empty(); ++i) {
    UringOwner* owner = starved_.front();
    starved_.pop_front();
    owner->starved_ = false;
    owner->runScheduled();
  }
}

const char* UringEngine::taskRunning() const {
  if ((setup_flags_ & IORING_SETUP_DEFER_TASKRUN) != 0) return "deferred";
  if ((setup_flags_ & IORING_SETUP_COOP_TASKRUN) != 0) return "cooperative";
  return "interrupting";
}

void UringEngine::closeWhenIdle() {
  closing_ = true;
}

bool UringEngine::finished() const {
  return closing_ && operationsInFlight() == 0 && uv_loop_alive(loop_) == 0;
}

// Makes the calling thread the ring's one issuer (a ring created disabled), and registers the
// ring's descriptor with it (io_uring_enter then skips the descriptor lookup).
void UringEngine::enable() {
  if (enabled_) return;
  if ((setup_flags_ & IORING_SETUP_R_DISABLED) != 0) {
    // liburing 2.3 declares io_uring_enable_rings() but does not export it.
    if (syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0) <
        0) {
      // The kernel accepted the ring's flags but not its enabling (5.10 and later have both):
      // nothing can run on this ring, and a worker that quietly stopped would leave its
      // listeners unserved. Say so and stop the process.
      logText(log::Level::Error, "io_uring_enable_failed", std::strerror(errno));
      std::abort();
    }
  }
  enabled_ = true;
  io_uring_register_ring_fd(&ring_); // an optimisation: without it the descriptor is used
}

void UringEngine::run() {
  while (runOnce(-1)) {
  }
}

bool UringEngine::runOnce(int max_wait_ms) {
  enable();
  // libuv's turn, when its descriptor was readable or something of it is due: timers (each
  // iteration updates libuv's clock), closing handles, pending callbacks.
  uv_update_time(loop_);
  if (uv_loop_alive(loop_) == 0) {
    loop_ready_ = false; // only unreferenced handles: nothing of libuv's keeps the loop going
  } else if (loop_ready_ || uv_backend_timeout(loop_) == 0) {
    loop_ready_ = false;
    uv_run(loop_, UV_RUN_NOWAIT);
  }
  if (uv_loop_alive(loop_) != 0) armLoopWatch();
  runSchedule();
  if (finished()) return false;
  submitAndWait(waitTimeout(max_wait_ms));
  reap();
  return !finished();
}

// How long the iteration may wait for a completion: not at all while scheduled work is left,
// until libuv's next timer, or for ever (only ring operations are left).
int UringEngine::waitTimeout(int max_wait_ms) {
  int timeout = -1;
  if (!scheduled_.empty() || !starved_.empty() || loop_ready_) {
    timeout = 0;
  } else if (uv_loop_alive(loop_) != 0) {
    uv_update_time(loop_);
    timeout = uv_backend_timeout(loop_);
  }
  if (max_wait_ms >= 0 && (timeout < 0 || timeout > max_wait_ms)) timeout = max_wait_ms;
  return timeout;
}

void UringEngine::submitAndWait(int timeout_ms) {
  int rc = 0;
  if (timeout_ms == 0) {
    // Submit, and post the completions whose task work is ready, without waiting.
    rc = io_uring_submit_and_get_events(&ring_);
  } else if (timeout_ms < 0) {
    rc = io_uring_submit_and_wait(&ring_, 1);
  } else {
    __kernel_timespec timeout{};
    timeout.tv_sec = timeout_ms / 1000;
    timeout.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1000000;
    io_uring_cqe* cqe = nullptr;
    rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &timeout, nullptr);
  }
  // A signal, the time running out (libuv's timer is due), or completions waiting to be reaped
  // (EBUSY) end the wait early and are handled by the next iteration. Anything else is
  // logged (not again while the same failure lasts) instead of passing unseen.
  if (rc >= 0) {
    last_error_ = 0;
    return;
  }
  if (rc == -EINTR || rc == -ETIME || rc == -EAGAIN || rc == -EBUSY || rc == last_error_) return;
  last_error_ = rc;
  logText(log::Level::Error, "io_uring_enter_failed",
          rc == -EBADR ? "the kernel dropped a completion (EBADR)" : std::strerror(-rc));
}

void UringEngine::armLoopWatch() {
  if (loop_watch_.armed) return;
  io_uring_sqe* sqe = prepare(loop_watch_, 0);
  io_uring_prep_poll_add(sqe, uv_backend_fd(loop_), POLLIN);
  loop_watch_.armed = true;
}

void UringEngine::LoopWatch::onCompletion(unsigned, int, unsigned) {
  armed = false;
  engine->loop_ready_ = true;
}

} // namespace wsgate::proxy
