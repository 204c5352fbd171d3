// UringEngine's loop, on a real ring: the ring is what the loop waits in, so libuv's timers, its
// descriptors (a cross-thread wake-up) and its closing handles must still run on time, and the
// loop must end once the engine was told to close and nothing is left. Skipped where io_uring
// is refused.
#include "proxy/transport/uring_engine.h"
#include "tests/unit/support/uring_fixture.h"

#include <atomic>
#include <chrono>
#include <gtest/gtest.h>
#include <string>
#include <thread>

namespace wsgate::proxy {
namespace {

class UringEngineLoop : public test::UringLoopTest {
protected:
  void TearDown() override {
    if (!engine_) return;
    engine_.reset();
    EXPECT_EQ(uv_loop_close(&loop_), 0);
    EXPECT_EQ(pool_.inUse(), 0U);
  }

  static uint64_t nowMs() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
  }
};

TEST_F(UringEngineLoop, RunsTaskRunningTheKernelOffers) {
  const std::string mode = engine_->taskRunning();
  EXPECT_TRUE(mode == "deferred" || mode == "cooperative" || mode == "interrupting") << mode;
}

// Nothing happens on the ring: the wait must end when libuv's timer is due, and run() must
// return once the timer's handle is closed and the engine closes.
TEST_F(UringEngineLoop, ATimerFiresWhileTheRingWaitsAndRunEndsAfterClose) {
  struct State {
    UringEngine* engine;
    uint64_t fired_at = 0;
    uv_timer_t timer{};
  } state{engine_.get()};
  uv_timer_init(&loop_, &state.timer);
  state.timer.data = &state;
  uv_update_time(&loop_); // the timer counts from the loop's clock
  const uint64_t started = nowMs();
  uv_timer_start(
      &state.timer,
      [](uv_timer_t* timer) {
        auto* s = static_cast<State*>(timer->data);
        s->fired_at = nowMs();
        uv_close(reinterpret_cast<uv_handle_t*>(timer), nullptr);
        s->engine->closeWhenIdle();
      },
      30, 0);
  engine_->run(); // returns only when the timer ran, its handle closed and the engine closed
  ASSERT_NE(state.fired_at, 0U);
  // libuv's clock may be the coarse one (a few ms behind): the timer fired, and not at once.
  EXPECT_GE(state.fired_at - started, 20U);
  EXPECT_EQ(uv_loop_alive(&loop_), 0);
  EXPECT_EQ(engine_->operationsInFlight(), 0U);
}

// Another thread wakes the loop with uv_async_send: libuv's epoll descriptor becomes readable,
// which the ring's poll of it reports, while the ring waits with no timer to end the wait.
TEST_F(UringEngineLoop, AnotherThreadsWakeUpEndsTheWait) {
  struct State {
    UringEngine* engine;
    std::atomic<bool> woken{false};
    uv_async_t async{};
  } state{engine_.get()};
  uv_async_init(&loop_, &state.async, [](uv_async_t* async) {
    auto* s = static_cast<State*>(async->data);
    s->woken = true;
    uv_close(reinterpret_cast<uv_handle_t*>(async), nullptr);
    s->engine->closeWhenIdle();
  });
  state.async.data = &state;
  // The first iteration arms the poll of libuv's descriptor and waits (no timer: for ever,
  // bounded here at 5 s so that a lost wake-up fails instead of hanging).
  std::thread waker([&] { uv_async_send(&state.async); });
  const uint64_t started = nowMs();
  while (!state.woken && nowMs() - started < 5000)
    engine_->runOnce(5000);
  waker.join();
  EXPECT_TRUE(state.woken);
  EXPECT_LT(nowMs() - started, 4000U);
  for (int i = 0; i < 50 && engine_->runOnce(100); ++i) {
  }
  EXPECT_EQ(uv_loop_alive(&loop_), 0);
}

} // namespace
} // namespace wsgate::proxy
