#pragma once

#include "proxy/transport/uring_engine.h"

#include <functional>

namespace wsgate::proxy {

// A listening socket whose connections the worker's ring accepts with one multishot accept.
// Out of descriptors (EMFILE, ENFILE) it drops the pending connections with a spare descriptor,
// as libuv does, so the loop never spins on a connection it cannot take.
class UringListener final : private UringOwner {
public:
  // `on_accept(fd)` gets each accepted connection (non-blocking, close-on-exec);
  // `on_error(status)` each failure (a libuv status).
  UringListener(UringEngine& engine, int fd, std::function<void(int)> on_accept,
                std::function<void(int)> on_error);
  ~UringListener();
  UringListener(const UringListener&) = delete;
  UringListener& operator=(const UringListener&) = delete;

  void start();
  // Stops accepting and closes the socket through the ring.
  void close();

private:
  enum Op : unsigned { Accept, Cancel, Close };
  void onCompletion(unsigned op, int result, unsigned flags) override;
  void runScheduled() override;
  void dropPending();

  UringEngine& engine_;
  int fd_;
  int spare_fd_ = -1; // kept open to be given up when the process runs out of descriptors
  std::function<void(int)> on_accept_;
  std::function<void(int)> on_error_;
  bool accepting_ = false; // a multishot accept is armed
  bool closing_ = false;
};

} // namespace wsgate::proxy
