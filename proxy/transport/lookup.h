#pragma once

#include <cstdint>
#include <string>
#include <uv.h>

namespace wsgate::proxy {

// Receives the answer of a DNS lookup. `result` is valid only during the call.
class LookupEvents {
public:
  virtual void onLookup(int status, const addrinfo* result) = 0;

protected:
  ~LookupEvents() = default;
};

// A DNS lookup in flight on libuv's thread pool, held by its owner. The request lives on the
// heap and owns itself: it is freed by its own callback, never by the owner, so an owner that
// goes away while the resolver still runs (a connect timeout, a drain, a rejected handshake)
// cannot leave the callback writing into freed memory. Destroying or resetting the handle
// detaches it: the lookup is cancelled if it has not started, and its answer, whenever it
// comes, is dropped. While attached, the owner gets exactly one onLookup().
class Lookup {
public:
  Lookup() = default;
  ~Lookup() { reset(); }
  Lookup(const Lookup&) = delete;
  Lookup& operator=(const Lookup&) = delete;

  // Starts resolving `host` for a stream socket on `port`; the answer goes to `events` on
  // `loop`'s thread. 0, or a libuv error (then nothing is in flight).
  int start(uv_loop_t* loop, const std::string& host, uint16_t port, LookupEvents& events);
  // Gives up on the lookup in flight, if any.
  void reset();
  bool active() const { return request_ != nullptr; }

private:
  struct Request;
  Request* request_ = nullptr;
};

} // namespace wsgate::proxy
