#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace wsgate::proxy {

inline constexpr std::size_t kBlockSize = std::size_t{64} * 1024;

// A read buffer. A block is handed to libuv only while a read is in progress, then passed on to
// the write that forwards its bytes; `refs` counts the holders (the reader, queued writes).
struct Block {
  uint32_t refs = 0;
  std::array<uint8_t, kBlockSize> data;
};

// Per-worker pool of read blocks (single-threaded). Idle connections hold no block: a block is
// taken in libuv's alloc callback and returns when the last holder releases it.
class BufferPool {
public:
  explicit BufferPool(std::size_t max_free = 256) : max_free_(max_free) {}
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A block with one reference.
  Block* acquire();
  static void ref(Block* block) { ++block->refs; }
  void release(Block* block);
  // Blocks currently held by someone.
  std::size_t inUse() const { return in_use_; }

private:
  std::vector<Block*> free_;
  std::size_t max_free_;
  std::size_t in_use_ = 0;
};

} // namespace wsgate::proxy
