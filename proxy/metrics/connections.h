#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace wsgate::proxy::metrics {

// One live client connection as /connections shows it. Filled on the worker's thread by
// Session::describe().
struct ConnectionInfo {
  uint64_t id = 0;
  unsigned worker = 0;
  const char* io = "epoll"; // the worker's socket engine: epoll | io_uring
  std::string listener;
  std::string route; // "" until routed
  std::string pool;
  std::string client_addr;
  std::string upstream_addr; // "" until a backend is picked
  std::string backend;       // the picked backend's identity ("ws://host:port"), "" until then
  std::string path;
  std::string subprotocol;
  const char* state = ""; // Session::toString(State)
  // Each leg's close progress (toString(LegState)): "open" .. "closed"; "none" for a leg that has
  // no connection (the backend's before the connect).
  const char* client_leg = "";
  const char* backend_leg = "";
  double age_s = 0;
  uint64_t bytes_from_client = 0;
  uint64_t bytes_to_client = 0;
  uint64_t bytes_from_backend = 0;
  uint64_t bytes_to_backend = 0;
  uint64_t messages_from_client = 0;
  uint64_t messages_to_client = 0;
  double last_ping_rtt_ms = -1; // < 0: no pong yet
};

// One /connections request, answered by every worker on its own thread. The admin thread
// waits for the answers with a deadline; a worker that answers late writes into a request
// nobody reads any more, which the shared_ptr keeps alive.
class ConnectionsRequest {
public:
  ConnectionsRequest(std::string route, std::size_t workers)
      : route_(std::move(route)), pending_(workers) {}

  // Only connections on this route ("" = all).
  const std::string& route() const { return route_; }
  // A worker's answer (or, for a worker that can no longer answer, an empty one).
  void answer(std::vector<ConnectionInfo> connections);
  // Waits until every worker answered or the timeout passed; returns how many answered.
  std::size_t wait(std::chrono::milliseconds timeout);
  // The connections received so far, sorted by id.
  std::vector<ConnectionInfo> take();

private:
  const std::string route_;
  std::mutex mutex_;
  std::condition_variable done_;
  std::size_t pending_;
  std::size_t answered_ = 0;
  std::vector<ConnectionInfo> connections_;
};

// The /connections JSON document: {"connections": [...], "total": N, "truncated": bool,
// "workers": W, "workers_answered": A}. `connections` is cut to `limit` entries (0 = all);
// `total` counts them all.
std::string connectionsJson(const std::vector<ConnectionInfo>& connections, std::size_t limit,
                            std::size_t workers, std::size_t answered);

} // namespace wsgate::proxy::metrics
