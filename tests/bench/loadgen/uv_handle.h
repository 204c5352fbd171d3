#pragma once

#include <uv.h>

namespace wsgate::bench {

// Owns one libuv handle (uv_tcp_t, uv_timer_t, uv_signal_t). The handle lives on the heap and
// is freed only in its close callback, so the owner may be destroyed while a close is still
// pending: the destructor closes an open handle without notifying anyone.
//
// States: empty (no handle), open (init() succeeded; get() is valid), and, after close(),
// empty again while libuv still holds the closing handle until its callback frees it.
template <typename T> class UvHandle {
public:
  using ClosedFn = void (*)(void* owner);

  UvHandle() = default;
  ~UvHandle() { close(nullptr, nullptr); }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;

  // Allocates a handle and runs `init_fn(loop, handle, args...)` (uv_timer_init, uv_tcp_init).
  // handle->data is set to `data`. Returns the libuv result; on failure the handle stays empty.
  template <typename InitFn, typename... Args>
  int init(InitFn init_fn, uv_loop_t* loop, void* data, Args... args) {
    close(nullptr, nullptr);
    auto* box = new Box;
    if (const int rc = init_fn(loop, &box->handle, args...); rc != 0) {
      delete box; // libuv did not register a handle whose init failed
      return rc;
    }
    box->handle.data = data;
    box_ = box;
    return 0;
  }

  // Closes the handle; `on_closed(owner)` runs from its close callback, after which the memory
  // is freed. Does nothing when empty.
  void close(ClosedFn on_closed, void* owner) {
    if (box_ == nullptr) return;
    box_->on_closed = on_closed;
    box_->owner = owner;
    box_->handle.data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&box_->handle), &UvHandle::onClose);
    box_ = nullptr;
  }

  T* get() const { return box_ != nullptr ? &box_->handle : nullptr; }
  uv_handle_t* handle() const { return reinterpret_cast<uv_handle_t*>(get()); }
  uv_stream_t* stream() const { return reinterpret_cast<uv_stream_t*>(get()); }
  explicit operator bool() const { return box_ != nullptr; }

private:
  // `handle` comes first: the close callback gets its address and recovers the Box from it.
  struct Box {
    T handle{};
    ClosedFn on_closed = nullptr;
    void* owner = nullptr;
  };

  static void onClose(uv_handle_t* handle) {
    auto* box = reinterpret_cast<Box*>(handle);
    if (box->on_closed != nullptr) box->on_closed(box->owner);
    delete box;
  }

  Box* box_ = nullptr;
};

} // namespace wsgate::bench
