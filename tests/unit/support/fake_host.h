#pragma once

// A SessionHost for unit tests: MemoryStreams instead of sockets, a manual clock that drives
// the timer wheel, and the shared state (balancers, health, admission) of one config. Sessions
// run in milliseconds and every callback runs on the test's thread.
#include "proxy/balancer/balancer.h"
#include "proxy/core/buffer_pool.h"
#include "proxy/core/timer_wheel.h"
#include "proxy/metrics/stats.h"
#include "proxy/server/shared_state.h"
#include "proxy/session/session_host.h"
#include "tests/unit/support/manual_clock.h"
#include "tests/unit/support/memory_stream.h"

#include <map>
#include <memory>
#include <string>
#include <uv.h>

namespace wsgate::proxy::test {

class FakeHost final : public SessionHost {
public:
  explicit FakeHost(std::shared_ptr<const config::Config> config);
  ~FakeHost();
  FakeHost(const FakeHost&) = delete;
  FakeHost& operator=(const FakeHost&) = delete;

  // SessionHost
  uint64_t nowMs() const override { return clock_.nowMs(); }
  uv_loop_t* loop() override { return &uv_loop_; }
  TimerWheel& wheel() override { return wheel_; }
  BufferPool& pool() override { return pool_; }
  metrics::WorkerStats& stats() override { return stats_; }
  unsigned index() const override { return 0; }
  uint64_t nextConnectionId() override { return shared_.nextConnectionId(); }
  std::unique_ptr<Stream> clientStream(const config::Config& config, std::size_t listener_index,
                                       StreamEvents& events) override;
  std::unique_ptr<Stream> backendStream(const config::Config& config, const config::Pool& pool,
                                        const config::Backend& backend, StreamEvents& events,
                                        std::string& error) override;
  Balancer& balancer(const config::Pool& pool) override;
  metrics::BackendHealth& backendHealth() override { return shared_.backend_health; }
  policy::AdmissionState& admission() override { return shared_.admission; }
  void releaseConnection() override { ++released_connections_; }
  void sessionEnded(HostedSession& session) override;

  // The test's side.
  // A session on listener 0, accepted (over_capacity: answered 503). Owned by this host until
  // it ends.
  HostedSession& startSession(bool over_capacity = false);
  // The session still running, or nullptr once it ended.
  HostedSession* session() { return session_; }
  // Runs what the loop has queued (close callbacks, resumed reads).
  void settle() { loop_.run(); }
  // Moves the clock by `ms`, one wheel tick at a time, firing timers and settling after each.
  void advance(uint64_t ms);
  uint64_t now() const { return clock_.nowMs(); }
  MemoryStreams& streams() { return streams_; }
  unsigned sessionsEnded() const { return ended_; }
  unsigned connectionsReleased() const { return released_connections_; }
  // Empty when nothing is left: no session, every stream closed and destroyed, every counted
  // connection given back, no backend counting a session, no timer armed, no block
  // held, nothing queued on the loop. Else what is left, for a failure message.
  std::string leftovers();

private:
  std::shared_ptr<const config::Config> config_;
  ManualClock clock_;
  MemoryLoop loop_;
  BufferPool pool_;
  TimerWheel wheel_;
  metrics::WorkerStats stats_;
  SharedState shared_;
  MemoryStreams streams_;
  uv_loop_t uv_loop_{};
  std::map<std::string, std::unique_ptr<Balancer>> balancers_;
  HostedSession* session_ = nullptr;
  unsigned ended_ = 0;
  unsigned released_connections_ = 0;
  unsigned counted_connections_ = 0; // sessions started within server.max_connections
  unsigned backend_streams_ = 0;
};

} // namespace wsgate::proxy::test
