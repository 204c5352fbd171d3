#pragma once

#include "proxy/balancer/balancer.h"
#include "proxy/core/buffer_pool.h"
#include "proxy/core/timer_wheel.h"
#include "proxy/metrics/connections.h"
#include "proxy/metrics/stats.h"
#include "proxy/server/shared_state.h"
#include "proxy/session/session_host.h"
#include "proxy/transport/stream.h"
#include "proxy/transport/stream_factory.h"
#include "proxy/transport/uring_engine.h"
#include "proxy/transport/uring_listener.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <uv.h>
#include <vector>

namespace wsgate::proxy {

// Close one open session on `backend` (its metrics label) of `pool` with `code`.
struct ShedOrder {
  std::string pool;
  std::string backend;
  uint16_t code = 1012;
  const char* reason = "overload"; // the `reason` label: overload | removed
};

// One event loop on one thread, with its own SO_REUSEPORT socket for every listener, its own
// buffer pool, timer wheel and balancers. Sessions never leave the worker that accepted them;
// they reach it only as their SessionHost (proxy/session/session_host.h).
class Worker final : public SessionHost {
public:
  // `listen_fds[i]` is this worker's bound socket for config listener i.
  // `on_finished` runs on the worker's thread once its loop has ended.
  Worker(SharedState& shared, unsigned index, std::vector<int> listen_fds,
         std::function<void()> on_finished);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Before start(): drive this worker's sockets through an io_uring ring. "" or why it cannot.
  std::string useUring();
  // "io_uring" or "epoll": the engine that carries this worker's sockets.
  const char* ioEngine() const { return uring_ ? "io_uring" : "epoll"; }
  void start();
  void join();
  // Thread-safe: stop accepting, close every session with 1001, end when none is left.
  void requestDrain() { post(kDrain); }
  // Thread-safe: close everything now.
  void requestStop() { post(kStop); }
  bool finished() const { return finished_.load(); }
  // Thread-safe: the worker answers `request` with its live sessions on its own loop. False
  // when the loop has ended and no answer will come.
  bool requestConnections(const std::shared_ptr<metrics::ConnectionsRequest>& request);
  // Thread-safe: close one session as `order` says (worker_shed.cpp). False when the loop has
  // ended.
  bool requestShed(ShedOrder order);

  // SessionHost: for sessions, on this worker's thread.
  uint64_t nowMs() const override { return uv_now(&loop_); }
  uv_loop_t* loop() override { return &loop_; }
  TimerWheel& wheel() override { return *wheel_; }
  BufferPool& pool() override { return pool_; }
  metrics::WorkerStats& stats() override { return stats_; }
  unsigned index() const override { return index_; }
  uint64_t nextConnectionId() override { return shared_.nextConnectionId(); }
  std::unique_ptr<Stream> clientStream(const config::Config& config, std::size_t listener_index,
                                       StreamEvents& events) override;
  std::unique_ptr<Stream> backendStream(const config::Config& config, const config::Pool& pool,
                                        const config::Backend& backend, StreamEvents& events,
                                        std::string& error) override;
  Balancer& balancer(const config::Pool& pool) override;
  metrics::BackendHealth& backendHealth() override { return shared_.backend_health; }
  policy::AdmissionState& admission() override { return shared_.admission; }
  void releaseConnection() override { shared_.releaseConnection(); }
  void sessionEnded(HostedSession& session) override;

  UringEngine* uring() { return uring_.get(); } // null with the epoll engine
  SharedState& shared() { return shared_; }
  bool draining() const { return draining_; }
  // On this worker's thread: calls `action` on every session bound to `backend` (sessions
  // still connecting included). `action` may end the session it is given.
  void forEachSessionOn(const BackendRuntime* backend,
                        const std::function<void(HostedSession&)>& action);
  std::size_t sessionCount() const { return session_count_; }

private:
  static constexpr int kDrain = 1;
  static constexpr int kStop = 2;
  static constexpr int kConnections = 4;
  static constexpr int kShed = 8;
  // The lag measurement publishes the largest lateness of the tick timer over this many ticks.
  static constexpr unsigned kLagWindowTicks = 1000 / TimerWheel::kTickMs;

  struct ListenSocket {
    uv_tcp_t tcp{};
    Worker* worker = nullptr;
    std::size_t listener_index = 0;
  };

  void post(int command);
  void run();
  void openListeners();
  void closeListeners();
  void drain();
  void stop();
  void maybeFinish();
  void answerConnections();
  void shedSessions();
  void measureLag();
  static void onAsync(uv_async_t* handle);
  static void onTick(uv_timer_t* handle);
  static void onConnection(uv_stream_t* server, int status);
  void acceptFailed(int status);
  void accepted(std::size_t listener_index, const AcceptedSocket& from);

  SharedState& shared_;
  unsigned index_;
  std::vector<int> listen_fds_;
  uv_loop_t loop_{};
  uv_async_t async_{};
  uv_timer_t tick_{};
  BufferPool pool_;
  metrics::WorkerStats stats_;
  std::unique_ptr<TimerWheel> wheel_;
  std::vector<std::unique_ptr<ListenSocket>> listeners_;
  std::unique_ptr<UringEngine> uring_; // set by useUring()
  std::vector<std::unique_ptr<UringListener>> uring_listeners_;
  // Every live session, in an intrusive list (HostedSession::host_prev/host_next): no node to
  // allocate per connection. walk_next_ is the next session of a walk that may end sessions (drain,
  // stop); unlinking that session moves it on.
  HostedSession* sessions_ = nullptr;
  HostedSession* walk_next_ = nullptr;
  std::size_t session_count_ = 0;
  std::map<std::string, std::unique_ptr<Balancer>> balancers_;
  std::function<void()> on_finished_;
  void link(HostedSession* session);
  void unlink(HostedSession* session);
  // The stream inputs; the TLS contexts only when `tls` (loading them costs an atomic load).
  StreamContext streamContext(bool tls);
  // Calls `action` on every session; a session may end (and be deleted) during the walk.
  template <typename Action> void forEachSession(Action action);

  std::mutex async_mutex_;
  bool async_open_ = true; // post() may signal async_ (guarded by async_mutex_)
  std::vector<std::shared_ptr<metrics::ConnectionsRequest>> connection_requests_; // async_mutex_
  std::vector<ShedOrder> shed_orders_;                                            // async_mutex_
  std::atomic<int> commands_{0};
  std::atomic<bool> finished_{false};
  uint64_t accept_errors_ = 0;          // accept failures so far (EMFILE, ENFILE, ...)
  uint64_t accept_error_logged_ms_ = 0; // when the last accept_failed line was written
  bool draining_ = false;
  bool stopping_ = false;
  bool handles_closed_ = false;
  uint64_t last_tick_ns_ = 0; // uv_hrtime() of the last tick; 0 before the first
  uint64_t lag_max_us_ = 0;   // the largest lateness in the current window
  unsigned lag_ticks_ = 0;
  std::thread thread_;
};

} // namespace wsgate::proxy
