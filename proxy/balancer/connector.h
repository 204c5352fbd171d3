#pragma once

#include "common/config/values.h"
#include "proxy/core/timer_wheel.h"
#include "proxy/transport/lookup.h"
#include "proxy/transport/stream.h"

#include <cstdint>
#include <string>
#include <sys/socket.h>
#include <uv.h>

namespace wsgate::proxy {

// Where a BackendConnector stands. Transient states are marked.
enum class ConnectPhase : uint8_t {
  Idle,         // no attempt runs: before start(), after a failure, after cancel()
  Resolving,    // transient: the backend's host name is being resolved (thread pool)
  Connecting,   // transient: the TCP connect runs
  TlsHandshake, // transient: wss:// only; TCP is up, the TLS handshake runs
  Connected,    // the owner's stream carries bytes (final)
};
const char* toString(ConnectPhase phase);

// Why one attempt failed.
enum class ConnectFailure : uint8_t {
  Resolve,  // the name did not resolve (or the lookup could not start)
  NoStream, // the owner could not make a stream (no TLS context): not the backend's fault
  Connect,  // the TCP connect or the TLS handshake failed
  Timeout,  // the attempt's timeout passed (DNS included)
};

// One backend to try. `address`, when set, is used as is (valid during nextTarget()'s caller
// only); else the backend's address is used, resolved first when it is a name.
struct ConnectTarget {
  const config::Backend* backend = nullptr; // nullptr: nothing is left to try
  const sockaddr* address = nullptr;
};

// The owner of a BackendConnector: a session (which picks the next backend from its pool) or a
// health probe (one backend). The owner owns the streams it opens and is their StreamEvents;
// it passes their onStreamConnect (and onStreamSecuring) on to the connector while it connects.
class ConnectorOwner {
public:
  // The next backend to try. Returning no backend ends the connector's work: the owner has
  // answered whoever waits (and may have destroyed the connector meanwhile).
  virtual ConnectTarget nextTarget() = 0;
  // A new stream to the current target at `address` (which the connector then connects), held
  // by the owner; nullptr with `error` set when none can be made.
  virtual Stream* openStream(const sockaddr* address, std::string& error) = 0;
  // The attempt entered `phase` (Resolving, Connecting or TlsHandshake).
  virtual void onConnectPhase(ConnectPhase phase) = 0;
  // The attempt failed: the owner retires the stream it opened for it, if any (it may also
  // destroy the connector). Unless destroyed, the connector goes on with nextTarget().
  virtual void onConnectFailed(ConnectFailure failure, const std::string& error) = 0;
  // The stream of the current attempt is connected (TLS handshake done for wss://).
  virtual void onConnected() = 0;
  // The clock of the timeout's wheel, in milliseconds.
  virtual uint64_t nowMs() const = 0;

protected:
  ~ConnectorOwner() = default;
};

// Reaches a backend: picks (through its owner), resolves the name, connects, runs the TLS
// handshake of a wss:// backend, each attempt under a timeout, and goes on to the owner's next
// target when an attempt fails. Used by sessions and by health probes.
//
// The connector owns its requests' life: the DNS lookup belongs to it and is detached when it
// is cancelled or destroyed (proxy/transport/lookup.h), and the timeout's wheel entry is
// disarmed then, so no answer or timer can reach an owner that is gone. An owner may destroy
// the connector from any of its callbacks; the connector touches nothing of its own after such
// a call.
class BackendConnector final : private TimerOwner, private LookupEvents {
public:
  // `loop` runs the lookups; `wheel` the attempts' timeouts (nullptr: the owner enforces a
  // deadline of its own).
  BackendConnector(uv_loop_t* loop, TimerWheel* wheel, ConnectorOwner& owner)
      : loop_(loop), wheel_(wheel), owner_(owner) {
    timer_.owner = this;
  }
  ~BackendConnector();
  BackendConnector(const BackendConnector&) = delete;
  BackendConnector& operator=(const BackendConnector&) = delete;

  // Starts with the owner's first target; every attempt is given `timeout_ms` (0: no limit).
  void start(uint64_t timeout_ms);
  // Stops the attempt in flight (the lookup is detached, the timer disarmed); nothing more
  // reaches the owner. The owner closes its stream.
  void cancel();
  // From the owner's stream: its connect finished (`detail`: the stream's lastError()).
  void onStreamConnect(int status, const std::string& detail);
  // From the owner's stream: TCP is up and its TLS handshake starts.
  void onStreamSecuring();

  ConnectPhase phase() const { return phase_; }
  // The backend being tried (or last tried), nullptr before the first.
  const config::Backend* backend() const { return backend_; }

private:
  void next();
  void attempt(const sockaddr* address);
  void fail(ConnectFailure failure, const std::string& error);
  void setPhase(ConnectPhase phase);
  void onTimer(int purpose) override;
  void onLookup(int status, const addrinfo* result) override;

  uv_loop_t* loop_;
  TimerWheel* wheel_;
  ConnectorOwner& owner_;
  uint64_t timeout_ms_ = 0;
  const config::Backend* backend_ = nullptr;
  ConnectPhase phase_ = ConnectPhase::Idle;
  Lookup lookup_;
  TimerEntry timer_{};
  // Set while an owner callback that may destroy the connector runs; the destructor sets the
  // flag it points to.
  bool* destroyed_ = nullptr;
};

} // namespace wsgate::proxy
