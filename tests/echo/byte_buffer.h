#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>

namespace wsgate::echo {

// A growable byte buffer reused across reads: clear() keeps the capacity, so a steady echo
// allocates nothing. Bytes [0, size_) are valid; [size_, capacity_) is scratch space.
class ByteBuffer {
public:
  explicit ByteBuffer(std::size_t capacity = 0) { reserve(capacity); }

  uint8_t* data() { return data_.get(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const uint8_t> bytes() const { return {data_.get(), size_}; }

  void clear() { size_ = 0; }
  // Drops every byte from `size` on (size <= size()).
  void truncate(std::size_t size) { size_ = size; }

  // Room for `n` more bytes at tail(); commit(n) then makes them part of the buffer.
  uint8_t* prepare(std::size_t n) {
    if (capacity_ - size_ < n) reserve(size_ + n);
    return data_.get() + size_;
  }
  void commit(std::size_t n) { size_ += n; }

  void append(std::span<const uint8_t> bytes) {
    if (bytes.empty()) return;
    std::memcpy(prepare(bytes.size()), bytes.data(), bytes.size());
    commit(bytes.size());
  }
  void append(std::string_view text) {
    append(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  }

private:
  void reserve(std::size_t capacity) {
    if (capacity <= capacity_) return;
    std::size_t grown = capacity_ == 0 ? 4096 : capacity_ * 2;
    while (grown < capacity)
      grown *= 2;
    auto bigger = std::make_unique_for_overwrite<uint8_t[]>(grown);
    if (size_ != 0) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = grown;
  }

  std::unique_ptr<uint8_t[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

} // namespace wsgate::echo
