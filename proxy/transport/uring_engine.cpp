#include "proxy/transport/uring_engine.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/eventfd.h>
#include <sys/mman.h>
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
  io_uring_params params{};
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  params.cq_entries = kCompletionEntries;
  int rc = io_uring_queue_init_params(kSubmissionEntries, &ring_, &params);
  if (rc < 0) {
    error = errnoText("io_uring_setup", -rc);
    return false;
  }
  ring_ready_ = true;
  if ((params.features & IORING_FEAT_NODROP) == 0) {
    error = "io_uring without IORING_FEAT_NODROP (kernel 5.5 or later)";
    return false;
  }
  if (!initBuffers(error)) return false;
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) {
    error = errnoText("eventfd", errno);
    return false;
  }
  rc = io_uring_register_eventfd(&ring_, event_fd_);
  if (rc < 0) {
    error = errnoText("io_uring_register_eventfd", -rc);
    return false;
  }
  uv_poll_init(loop_, &poll_, event_fd_);
  uv_prepare_init(loop_, &prepare_);
  uv_idle_init(loop_, &idle_);
  poll_.data = prepare_.data = idle_.data = this;
  uv_poll_start(&poll_, UV_READABLE, &UringEngine::onPoll);
  uv_prepare_start(&prepare_, &UringEngine::onPrepare);
  // The prepare handle runs every iteration but is no reason for the loop to live on.
  uv_unref(reinterpret_cast<uv_handle_t*>(&prepare_));
  return true;
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
  if (event_fd_ >= 0) ::close(event_fd_);
}

io_uring_sqe* UringEngine::prepare(UringOwner& owner, unsigned op) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {
    // The submission queue is full: hand it to the kernel now.
    io_uring_submit(&ring_);
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

void UringEngine::onPoll(uv_poll_t* handle, int, int) {
  auto* self = static_cast<UringEngine*>(handle->data);
  uint64_t count = 0;
  [[maybe_unused]] const ssize_t n = ::read(self->event_fd_, &count, sizeof count);
  self->reap();
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
  maybeCloseHandles();
}

void UringEngine::onPrepare(uv_prepare_t* handle) {
  auto* self = static_cast<UringEngine*>(handle->data);
  self->runSchedule();
  self->submit();
}

void UringEngine::onIdle(uv_idle_t* handle) {
  uv_idle_stop(handle); // its only job was to keep the loop from blocking
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
  if (!scheduled_.empty() || !starved_.empty()) uv_idle_start(&idle_, &UringEngine::onIdle);
}

void UringEngine::submit() {
  if (io_uring_sq_ready(&ring_) > 0) io_uring_submit(&ring_);
}

void UringEngine::closeWhenIdle() {
  closing_ = true;
  maybeCloseHandles();
}

void UringEngine::maybeCloseHandles() {
  if (!closing_ || in_flight_ != 0 || handles_closing_) return;
  handles_closing_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&prepare_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&idle_), nullptr);
}

} // namespace wsgate::proxy
