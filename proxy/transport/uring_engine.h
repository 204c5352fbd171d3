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

// One io_uring ring per worker, as one more event source on the worker's libuv loop:
// - completions: the ring signals an eventfd (io_uring_register_eventfd) that a uv_poll_t
//   watches; its callback reaps every completion in batches.
// - submissions: operations are prepared as the loop runs and submitted once per loop iteration
//   by a uv_prepare_t, after the scheduled owners ran (reads delivered late, writes gathered).
// - receive buffers: a provided-buffer ring of pool blocks that multishot receives fill. A block
//   leaves the ring only when data arrived into it (it is replaced at once), so an idle
//   connection holds no buffer.
class UringEngine {
public:
  static constexpr unsigned kSubmissionEntries = 1024;
  static constexpr unsigned kCompletionEntries = 16384;
  // Blocks in the provided-buffer ring. The kernel takes them in ring order, so every one of
  // them is written to over time: they bound the worker's receive memory (4 MiB). More
  // receives completing between two reaps than there are blocks end those receives with
  // ENOBUFS; they are armed again before the next submission.
  static constexpr unsigned kBuffers = 64;
  static constexpr uint16_t kBufferGroup = 0;

  // "" when this process may use io_uring with every operation the engine needs (checked with
  // a real ring, a multishot accept and a multishot receive on loopback); else why not.
  static std::string probe();
  // nullptr with `error` set when the ring cannot be made.
  static std::unique_ptr<UringEngine> create(uv_loop_t* loop, BufferPool& pool, std::string& error);
  ~UringEngine();
  UringEngine(const UringEngine&) = delete;
  UringEngine& operator=(const UringEngine&) = delete;

  uv_loop_t* loop() { return loop_; }
  BufferPool& pool() { return pool_; }
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
  // The worker ends: close the loop handles once no operation is in flight.
  void closeWhenIdle();
  uint64_t operationsInFlight() const { return in_flight_; }

private:
  UringEngine(uv_loop_t* loop, BufferPool& pool);
  bool init(std::string& error);
  bool initBuffers(std::string& error);
  static void onPoll(uv_poll_t* handle, int status, int events);
  static void onPrepare(uv_prepare_t* handle);
  static void onIdle(uv_idle_t* handle);
  void reap();
  void runSchedule();
  void submit();
  void maybeCloseHandles();

  uv_loop_t* loop_;
  BufferPool& pool_;
  io_uring ring_{};
  bool ring_ready_ = false;
  int event_fd_ = -1;
  uv_poll_t poll_{};
  uv_prepare_t prepare_{};
  uv_idle_t idle_{};             // active while scheduled work is left: the loop must not block
  bool closing_ = false;         // the worker ends: close the handles once nothing is in flight
  bool handles_closing_ = false; // uv_close() was called on the handles
  io_uring_buf_ring* buffers_ = nullptr;
  std::size_t buffers_size_ = 0;
  std::vector<Block*> blocks_; // blocks_[bid] is the block the ring holds at bid
  std::vector<UringOwner*> scheduled_;
  std::vector<UringOwner*>* current_batch_ = nullptr; // the owners runSchedule() is running
  std::deque<UringOwner*> starved_;                   // oldest first
  uint64_t in_flight_ = 0;
};

} // namespace wsgate::proxy
