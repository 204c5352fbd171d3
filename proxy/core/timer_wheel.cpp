#include "proxy/core/timer_wheel.h"

#include <algorithm>

namespace wsgate::proxy {

TimerWheel::~TimerWheel() {
  for (TimerEntry*& head : slots_) {
    while (head != nullptr)
      disarm(*head);
  }
}

void TimerWheel::link(TimerEntry& entry) {
  // An entry due in the past goes to the next tick's slot so it fires on the next advance.
  const uint64_t tick = std::max(entry.due_ms / kTickMs, last_tick_ + 1);
  entry.slot = static_cast<uint32_t>(tick % kSlots);
  TimerEntry*& head = slots_[entry.slot];
  entry.prev = nullptr;
  entry.next = head;
  if (head != nullptr) head->prev = &entry;
  head = &entry;
  entry.wheel = this;
  ++size_;
}

void TimerWheel::arm(TimerEntry& entry, uint64_t due_ms) {
  disarm(entry);
  entry.due_ms = due_ms;
  link(entry);
}

void TimerWheel::disarm(TimerEntry& entry) {
  TimerWheel* wheel = entry.wheel;
  if (wheel == nullptr) return;
  if (entry.prev != nullptr) {
    entry.prev->next = entry.next;
  } else {
    wheel->slots_[entry.slot] = entry.next;
  }
  if (entry.next != nullptr) entry.next->prev = entry.prev;
  entry.prev = entry.next = nullptr;
  entry.wheel = nullptr;
  --wheel->size_;
}

void TimerWheel::advance(uint64_t now_ms) {
  const uint64_t now_tick = now_ms / kTickMs;
  // Never walk more than one revolution: every slot is visited once at most per call.
  const uint64_t first = std::max(last_tick_ + 1, now_tick >= kSlots ? now_tick - kSlots + 1 : 0);
  for (uint64_t tick = first; tick <= now_tick; ++tick) {
    TimerEntry* entry = slots_[tick % kSlots];
    last_tick_ = tick;
    while (entry != nullptr) {
      TimerEntry* next = entry->next;
      if (entry->due_ms / kTickMs <= tick) {
        disarm(*entry);
        entry->owner->onTimer(entry->purpose);
        // The callback may have disarmed or re-armed other entries of this slot, including
        // `next`; restart from the slot's head, which holds only entries not yet due or new.
        next = slots_[tick % kSlots];
        while (next != nullptr && next->due_ms / kTickMs > tick)
          next = next->next;
      }
      entry = next;
    }
  }
  if (now_tick > last_tick_) last_tick_ = now_tick;
}

} // namespace wsgate::proxy
