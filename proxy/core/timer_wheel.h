#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace wsgate::proxy {

class TimerWheel;

// Whoever owns timer entries; `onTimer` gets the entry's purpose.
class TimerOwner {
public:
  virtual void onTimer(int purpose) = 0;

protected:
  ~TimerOwner() = default;
};

// An intrusive timer, embedded in its owner. Armed while it sits in a wheel slot's list.
struct TimerEntry {
  TimerOwner* owner = nullptr;
  uint64_t due_ms = 0;
  TimerEntry* prev = nullptr;
  TimerEntry* next = nullptr;
  TimerWheel* wheel = nullptr; // set while armed
  uint32_t slot = 0;           // the slot it is linked in while armed
  int purpose = 0;
  bool armed() const { return wheel != nullptr; }
};

// A hashed timing wheel: one per worker, ticked by one uv_timer, for every handshake, ping,
// pong, idle, lifetime and close timeout of every connection. Arming and disarming are O(1);
// an entry fires within one tick after its due time. Entries due more than one revolution
// ahead wait in their slot until their time comes.
class TimerWheel {
public:
  static constexpr uint64_t kTickMs = 25;
  static constexpr std::size_t kSlots = 2048;

  explicit TimerWheel(uint64_t now_ms) : last_tick_(now_ms / kTickMs) {}
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  void arm(TimerEntry& entry, uint64_t due_ms);
  static void disarm(TimerEntry& entry);
  // Fires every entry due at or before `now_ms`.
  void advance(uint64_t now_ms);
  std::size_t size() const { return size_; }

private:
  void link(TimerEntry& entry);

  std::array<TimerEntry*, kSlots> slots_{};
  uint64_t last_tick_; // every slot up to this tick has been processed
  std::size_t size_ = 0;
};

} // namespace wsgate::proxy
