#pragma once

#include "common/config/config.h"
#include "common/http/parser.h"
#include "proxy/balancer/connector.h"
#include "proxy/transport/stream.h"
#include "proxy/transport/tls_context.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <uv.h>

namespace wsgate::proxy {

class HealthProbe;

// Told about a probe's verdict (once) and about its end (once, after the verdict).
class HealthProbeOwner {
public:
  virtual void onProbeVerdict(HealthProbe& probe, bool healthy, const std::string& reason) = 0;
  virtual void onProbeGone(HealthProbe& probe) = 0;

protected:
  ~HealthProbeOwner() = default;
};

// What one probe checks.
struct ProbeTarget {
  std::string id;                        // the owner's key for this (pool, backend)
  config::Backend backend;               // where to connect; its host is the SNI of wss://
  std::optional<sockaddr_storage> where; // a resolved address; else the backend's is resolved
  bool websocket = false;                // true: an upgrade to `path`; false: a TCP connect only
  std::string path = "/";
  std::string host;                     // the Host header
  std::shared_ptr<const ClientTls> tls; // set for a wss:// backend
};

// One health probe of one backend, on the main loop: reach it with a BackendConnector (resolve
// a host name, connect, TLS for wss://), send a WebSocket upgrade, judge the answer
// (common/ws/upgrade_probe.h); after a 101 it sends a masked close 1000 and waits up to kLingerMs
// for the backend's close frame. It deletes itself once its stream is closed (onProbeGone is its
// last call). The owner enforces deadlines through expire(), from its own timer (the connect
// included: the connector runs without a timer of its own here).
class HealthProbe final : public StreamEvents, private ConnectorOwner {
public:
  static constexpr uint64_t kLingerMs = 1000;

  enum class State : uint8_t {
    Resolving,  // the backend's host name is being resolved
    Connecting, // TCP connect (and TLS handshake) in progress
    Awaiting,   // upgrade request sent; reading the answer
    Lingering,  // judged healthy; close 1000 sent, waiting for the backend's close frame
    Closed,     // the stream is closing (final)
  };

  // A probe that has not started: the owner records it, then calls begin(). Never null.
  static HealthProbe* create(uv_loop_t* loop, BufferPool& pool, HealthProbeOwner& owner,
                             ProbeTarget target, uint64_t timeout_ms);
  // Starts it. The verdict (and the end) may come before begin() returns.
  void begin();
  const std::string& id() const { return target_.id; }
  bool judged() const { return judged_; }
  // Past its deadline: a probe not judged yet fails with "timeout"; a lingering one closes.
  void expire(uint64_t now_ms);
  // Closes without a verdict (the prober stops).
  void cancel();

  void onStreamConnect(Stream& stream, int status) override;
  void onStreamData(Stream& stream, Block* block, std::size_t length) override;
  void onStreamEnd(Stream& stream, int status) override;
  void onStreamDrained(Stream&) override {}
  void onStreamClosed(Stream& stream) override;

private:
  HealthProbe(uv_loop_t* loop, BufferPool& pool, HealthProbeOwner& owner, ProbeTarget target,
              uint64_t timeout_ms);
  // ConnectorOwner: one target; its failure is the verdict.
  ConnectTarget nextTarget() override;
  Stream* openStream(const sockaddr* address, std::string& error) override;
  void onConnectPhase(ConnectPhase phase) override;
  void onConnectFailed(ConnectFailure failure, const std::string& error) override;
  void onConnected() override;
  uint64_t nowMs() const override { return uv_now(loop_); }
  void verdict(bool healthy, const std::string& reason);
  void closeStream();

  uv_loop_t* loop_;
  BufferPool& pool_;
  HealthProbeOwner& owner_;
  ProbeTarget target_;
  State state_ = State::Resolving;
  uint64_t deadline_ms_;
  bool judged_ = false;
  bool cancelled_ = false;
  bool targeted_ = false;     // nextTarget() gave the backend
  std::string connect_error_; // why reaching it failed
  std::string key_;
  http::ResponseParser response_;
  std::unique_ptr<Stream> stream_;
  BackendConnector connector_; // after stream_: destroyed first
};

} // namespace wsgate::proxy
