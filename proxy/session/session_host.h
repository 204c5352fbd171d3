#pragma once

// The one meeting point of proxy/server/ and proxy/session/. A worker runs sessions through
// HostedSession and createSession(); a session reaches its worker only through SessionHost.
// Neither directory includes the other's headers. Tests implement SessionHost with in-memory
// streams and a manual clock.

#include "common/config/config.h"
#include "proxy/transport/stream.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <uv.h>

namespace wsgate::proxy {

class Balancer;
class BackendRuntime;
class TimerWheel;
class HostedSession;
namespace metrics {
struct ConnectionInfo;
class BackendHealth;
struct WorkerStats;
} // namespace metrics
namespace policy {
class AdmissionState;
}

// What a session needs from the worker that runs it. Every call is made on the worker's
// thread; every reference returned outlives the sessions of the host.
class SessionHost {
public:
  // The loop clock in milliseconds (uv_now of the worker's loop; a manual clock in tests).
  virtual uint64_t nowMs() const = 0;
  // The loop that runs DNS lookups for backend names.
  virtual uv_loop_t* loop() = 0;
  // The timers of every session of this host.
  virtual TimerWheel& wheel() = 0;
  virtual BufferPool& pool() = 0;
  virtual metrics::WorkerStats& stats() = 0;
  // The worker's index, for logs and /connections.
  virtual unsigned index() const = 0;
  // The process-wide connection id of a new session.
  virtual uint64_t nextConnectionId() = 0;

  // The stream of the client connection accepted on listener `listener_index` of `config`
  // (plain TCP or TLS). Never null.
  virtual std::unique_ptr<Stream>
  clientStream(const config::Config& config, std::size_t listener_index, StreamEvents& events) = 0;
  // The stream to `backend` of `pool` (plain TCP or TLS for wss://), not connected yet.
  // nullptr, with `error` set, when none can be made.
  virtual std::unique_ptr<Stream> backendStream(const config::Config& config,
                                                const config::Pool& pool,
                                                const config::Backend& backend,
                                                StreamEvents& events, std::string& error) = 0;

  // This host's balancer of `pool` (its picks, its random state).
  virtual Balancer& balancer(const config::Pool& pool) = 0;
  // Which backends are up, over all workers: sessions record their connects and upgrades.
  virtual metrics::BackendHealth& backendHealth() = 0;
  // Handshake rates, per-IP counts and authentication tables, over all workers.
  virtual policy::AdmissionState& admission() = 0;
  // Gives back the server.max_connections slot the host counted the session in.
  virtual void releaseConnection() = 0;

  // The session has ended (both connections closed): the host unlinks and deletes it. The
  // session's last call.
  virtual void sessionEnded(HostedSession& session) = 0;

protected:
  ~SessionHost() = default;
};

// What a worker asks of a session it runs (proxy/session/session.h implements it).
class HostedSession {
public:
  virtual ~HostedSession() = default;

  // Takes the accepted connection and reads the upgrade request. `over_capacity`: the host did
  // not count it (server.max_connections): it is answered 503.
  virtual void accept(const AcceptedSocket& from, bool over_capacity) = 0;
  // wsgate is shutting down: close with 1001 on both legs (503 before the upgrade).
  virtual void drain() = 0;
  // Close everything now, without close frames.
  virtual void abort() = 0;
  // An open session on backend `backend` (its metrics label) of pool `pool`.
  virtual bool openOn(std::string_view pool, std::string_view backend) const = 0;
  // Moves an open session elsewhere: `code` to the client, 1001 to the backend.
  virtual void shed(uint16_t code) = 0;
  // The backend the session is bound to (counted in its live sessions), or nullptr.
  virtual const BackendRuntime* boundBackend() const = 0;
  // What /connections shows of this session.
  virtual metrics::ConnectionInfo describe() const = 0;

  // The host's list of its live sessions (intrusive: no node to allocate per connection).
  // Only the host reads or writes them.
  HostedSession* host_prev = nullptr;
  HostedSession* host_next = nullptr;
};

// A new session on `host` for a connection on listener `listener_index` of `config`. The host
// owns it (and deletes it in sessionEnded); call accept() next.
HostedSession* createSession(SessionHost& host, std::size_t listener_index,
                             std::shared_ptr<const config::Config> config);

} // namespace wsgate::proxy
