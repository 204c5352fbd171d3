#include "proxy/core/buffer_pool.h"

namespace wsgate::proxy {

BufferPool::~BufferPool() {
  for (Block* block : free_)
    delete block;
}

Block* BufferPool::acquire() {
  Block* block = nullptr;
  if (!free_.empty()) {
    block = free_.back();
    free_.pop_back();
  } else {
    block = new Block;
  }
  block->refs = 1;
  ++in_use_;
  return block;
}

void BufferPool::release(Block* block) {
  if (--block->refs != 0) return;
  --in_use_;
  if (free_.size() < max_free_) {
    free_.push_back(block);
  } else {
    delete block;
  }
}

} // namespace wsgate::proxy
