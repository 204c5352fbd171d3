#pragma once

#include <cstdint>

namespace wsgate::proxy::test {

// A clock that moves only when the test says so: session timers become exact and instant.
class ManualClock {
public:
  explicit ManualClock(uint64_t start_ms = 1'000'000) : now_ms_(start_ms) {}
  uint64_t nowMs() const { return now_ms_; }
  void advance(uint64_t ms) { now_ms_ += ms; }

private:
  uint64_t now_ms_;
};

} // namespace wsgate::proxy::test
