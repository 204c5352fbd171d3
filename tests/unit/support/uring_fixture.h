#pragma once

#include "proxy/core/buffer_pool.h"
#include "proxy/transport/uring_engine.h"

#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <uv.h>

namespace wsgate::proxy::test {

// A libuv loop with an io_uring engine on it, for tests on a real ring; skips the test where
// this process may not use io_uring (a kernel or a seccomp profile that refuses it).
class UringLoopTest : public ::testing::Test {
protected:
  void SetUp() override {
    const std::string reason = UringEngine::probe();
    if (!reason.empty()) GTEST_SKIP() << "io_uring is not available here: " << reason;
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    std::string error;
    engine_ = UringEngine::create(&loop_, pool_, error);
    ASSERT_NE(engine_, nullptr) << error;
  }

  uv_loop_t loop_{};
  BufferPool pool_;
  std::unique_ptr<UringEngine> engine_;
};

} // namespace wsgate::proxy::test
