#pragma once

#include "proxy/core/buffer_pool.h"

#include <cstdint>
#include <deque>
#include <liburing.h>
#include <memory>
#include <string>
#include <uv.h>
#include <vector>

namespace wsgate::proxy {

// What an io_uring operation belongs to. An SQE's user_data is the owner's address with the
// operation's number (0..7) in its three low bits, so a completion needs no allocation. An owner
// counts its operations in flight and is destroyed only when none is left: no completion can
// then name it.
class UringOwner {
public:
  virtual void onCompletion(unsigned op, int result, unsigned flags) = 0;
  // Work the owner asked for with UringEngine::schedule(), run once per loop iteration before
  // the submission.
  virtual void runScheduled() {}

protected:
  virtual ~UringOwner() = default;

private:
  friend class UringEngine;
  bool scheduled_ = false;
  bool starved_ = false; // waits in UringEngine::starved_
};

// One io_uring ring per worker, and the loop that drives it together with the worker's libuv
// loop. The ring is what the worker waits in: one io_uring_enter per loop iteration submits
// every operation prepared since the last one, runs the completions' task work and waits for
// the next completion, for at most the time until libuv's next timer. libuv's own descriptors
// (its epoll instance: the admin listener, DNS answers, cross-thread wake-ups, signals) are one
// poll operation on the ring; libuv runs (uv_run without waiting) when that poll completed or a
// timer is due, never otherwise. So a busy worker makes one system call per iteration, not an
// epoll_wait, an eventfd read and a submit.
// - Task running: the ring is created for this one thread (SINGLE_ISSUER) with deferred task
//   running (DEFER_TASKRUN, kernel 6.1): completions are posted only inside the iteration's
//   io_uring_enter, in one batch, and never interrupt the worker. Older kernels get cooperative
//   task running (COOP_TASKRUN, 5.19), then neither.
// - Receive buffers: a provided-buffer ring of pool blocks that multishot receives fill. A block
//   leaves the ring only when data arrived into it (it is replaced at once), so an idle
//   connection holds no buffer.
class UringEngine {
public:
  static constexpr unsigned kSubmissionEntries = 1024;
  static constexpr unsigned kCompletionEntries = 16384;
  // Blocks in the provided-buffer ring. The kernel takes them in ring order, so every one of
  // them is written to over time: they bound the worker's receive memory (4 MiB). More
  // receives completing between two reaps than there are blocks end those receives with
  // ENOBUFS; they are armed again in a later iteration.
  static constexpr unsigned kBuffers = 64;
  static constexpr uint16_t kBufferGroup = 0;

  // "" when this process may use io_uring with every operation the engine needs (checked with
  // a real ring, a multishot accept and a multishot receive on loopback); else why not.
  static std::string probe();
  // nullptr with `error` set when the ring cannot be made. The ring belongs to the first
  // thread that runs it (run() or runOnce()); only that thread may prepare operations.
  static std::unique_ptr<UringEngine> create(uv_loop_t* loop, BufferPool& pool, std::string& error);
  ~UringEngine();
  UringEngine(const UringEngine&) = delete;
  UringEngine& operator=(const UringEngine&) = delete;

  uv_loop_t* loop() { return loop_; }
  BufferPool& pool() { return pool_; }
  // "deferred", "cooperative" or "interrupting": how completions' task work runs.
  const char* taskRunning() const;
  // An SQE for `op` of `owner` (submitted before the loop next waits); never null.
  io_uring_sqe* prepare(UringOwner& owner, unsigned op);
  // The block a receive completion with `flags` filled, with one reference for the caller.
  Block* takeBuffer(unsigned flags);
  // Runs owner.runScheduled() before the next submission.
  void schedule(UringOwner& owner);
  // A receive of `owner` ended for want of a ring buffer: runs owner.runScheduled() in a later
  // loop iteration, at most kBuffers such owners per iteration (more could not receive anyway,
  // and each would fail again at once).
  void starved(UringOwner& owner);
  // The owner is going away: forget a pending schedule() or starved().
  void unschedule(UringOwner& owner);
  // The worker ends: run() returns once no operation of an owner is in flight and libuv has
  // no live handle.
  void closeWhenIdle();
  uint64_t operationsInFlight() const { return in_flight_ - (loop_watch_.armed ? 1 : 0); }

  // The worker's loop, until closeWhenIdle() and everything ended.
  void run();
  // One iteration that waits at most `max_wait_ms` (-1: as long as the loop would); false once
  // the loop has ended. For tests, which drive the loop themselves.
  bool runOnce(int max_wait_ms);

private:
  // The poll operation on libuv's epoll descriptor (one-shot, armed again after libuv ran).
  struct LoopWatch final : UringOwner {
    UringEngine* engine = nullptr;
    bool armed = false;
    void onCompletion(unsigned op, int result, unsigned flags) override;
  };

  UringEngine(uv_loop_t* loop, BufferPool& pool);
  bool init(std::string& error);
  bool initBuffers(std::string& error);
  void enable();
  bool finished() const;
  int waitTimeout(int max_wait_ms);
  void submitAndWait(int timeout_ms);
  void armLoopWatch();
  void reap();
  void runSchedule();

  uv_loop_t* loop_;
  BufferPool& pool_;
  io_uring ring_{};
  unsigned setup_flags_ = 0;
  bool ring_ready_ = false;
  bool enabled_ = false;    // the ring was enabled on the thread that runs it
  bool loop_ready_ = false; // libuv's descriptor polled readable: run libuv
  bool closing_ = false;    // the worker ends
  int last_error_ = 0;      // the last io_uring_enter failure logged (not again while it lasts)
  LoopWatch loop_watch_;
  io_uring_buf_ring* buffers_ = nullptr;
  std::size_t buffers_size_ = 0;
  std::vector<Block*> blocks_; // blocks_[bid] is the block the ring holds at bid
  std::vector<UringOwner*> scheduled_;
  std::vector<UringOwner*>* current_batch_ = nullptr; // the owners runSchedule() is running
  std::deque<UringOwner*> starved_;                   // oldest first
  uint64_t in_flight_ = 0;
};

} // namespace wsgate::proxy
