#include "proxy/core/buffer_pool.h"
#include "proxy/core/timer_wheel.h"

#include <gtest/gtest.h>
#include <vector>

namespace wsgate::proxy {
namespace {

TimerEntry entryFor(TimerOwner* owner, int purpose) {
  TimerEntry entry;
  entry.owner = owner;
  entry.purpose = purpose;
  return entry;
}

struct Recorder final : TimerOwner {
  void onTimer(int purpose) override { fired.push_back(purpose); }
  std::vector<int> fired;
};

TEST(TimerWheel, FiresWithinOneTickAfterDue) {
  TimerWheel wheel(0);
  Recorder owner;
  TimerEntry a = entryFor(&owner, 1);
  TimerEntry b = entryFor(&owner, 2);
  wheel.arm(a, 100);
  wheel.arm(b, 1000);
  EXPECT_EQ(wheel.size(), 2u);
  wheel.advance(99);
  EXPECT_TRUE(owner.fired.empty());
  wheel.advance(100 + TimerWheel::kTickMs);
  EXPECT_EQ(owner.fired, std::vector<int>{1});
  EXPECT_FALSE(a.armed());
  wheel.advance(1000 + TimerWheel::kTickMs);
  EXPECT_EQ(owner.fired, (std::vector<int>{1, 2}));
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, DisarmAndRearm) {
  TimerWheel wheel(0);
  Recorder owner;
  TimerEntry a = entryFor(&owner, 1);
  wheel.arm(a, 50);
  TimerWheel::disarm(a);
  wheel.advance(500);
  EXPECT_TRUE(owner.fired.empty());
  wheel.arm(a, 600);
  wheel.arm(a, 900); // re-arming moves it
  wheel.advance(700);
  EXPECT_TRUE(owner.fired.empty());
  wheel.advance(925);
  EXPECT_EQ(owner.fired, std::vector<int>{1});
}

TEST(TimerWheel, DueBeyondOneRevolutionWaits) {
  TimerWheel wheel(0);
  Recorder owner;
  TimerEntry a = entryFor(&owner, 7);
  const uint64_t revolution = TimerWheel::kTickMs * TimerWheel::kSlots;
  wheel.arm(a, revolution + 100);
  wheel.advance(200); // passes the same slot one revolution early
  wheel.advance(revolution / 2);
  EXPECT_TRUE(owner.fired.empty());
  wheel.advance(revolution + 200);
  EXPECT_EQ(owner.fired, std::vector<int>{7});
}

TEST(TimerWheel, CallbackMayRearmAndDisarmOthers) {
  TimerWheel wheel(0);
  struct Chain final : TimerOwner {
    TimerWheel* wheel = nullptr;
    TimerEntry self = entryFor(this, 1);
    TimerEntry other = entryFor(this, 2);
    int count = 0;
    void onTimer(int purpose) override {
      ++count;
      if (purpose == 1) {
        TimerWheel::disarm(other);
        if (count < 3) wheel->arm(self, 10); // in the past: fires at the next tick
      }
    }
  } chain;
  chain.wheel = &wheel;
  wheel.arm(chain.other, 100);
  wheel.arm(chain.self, 100); // linked last, so first in its slot: it fires before `other`
  wheel.advance(100 + TimerWheel::kTickMs - 1); // the tick of 100 only
  EXPECT_EQ(chain.count, 1);
  EXPECT_FALSE(chain.other.armed());
  wheel.advance(400); // the re-armed entry fires at each following tick until it stops
  EXPECT_EQ(chain.count, 3);
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, LongJumpFiresEverything) {
  TimerWheel wheel(0);
  Recorder owner;
  std::vector<TimerEntry> entries(100);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    entries[i] = entryFor(&owner, static_cast<int>(i));
    wheel.arm(entries[i], 1000 * (i + 1));
  }
  wheel.advance(10'000'000);
  EXPECT_EQ(owner.fired.size(), 100u);
}

TEST(BufferPool, ReusesAndCountsBlocks) {
  BufferPool pool(1);
  Block* a = pool.acquire();
  BufferPool::ref(a);
  EXPECT_EQ(pool.inUse(), 1u);
  pool.release(a);
  EXPECT_EQ(pool.inUse(), 1u);
  pool.release(a);
  EXPECT_EQ(pool.inUse(), 0u);
  Block* b = pool.acquire();
  EXPECT_EQ(a, b); // came back from the free list
  Block* c = pool.acquire();
  pool.release(b);
  pool.release(c); // over max_free: deleted
  EXPECT_EQ(pool.inUse(), 0u);
}

} // namespace
} // namespace wsgate::proxy
