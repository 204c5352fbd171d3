#pragma once

#include "common/config/config.h"
#include "common/http/parser.h"
#include "common/ws/deflate_params.h"
#include "common/ws/frame_parser.h"
#include "common/ws/upgrade.h"
#include "proxy/balancer/backend_runtime.h"
#include "proxy/balancer/connector.h"
#include "proxy/core/timer_wheel.h"
#include "proxy/metrics/connections.h"
#include "proxy/policy/admission.h"
#include "proxy/session/relay.h"
#include "proxy/session/session_host.h"
#include "proxy/transport/tcp_stream.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <uv.h>
#include <vector>

namespace wsgate::proxy {

// Why a session ended, for the access log's `termination` field.
enum class Termination : uint8_t {
  None,
  Normal,             // a close handshake completed
  HandshakeRejected,  // the client's request got an HTTP error
  HandshakeTimeout,   // the client's request was not complete in time
  ClientAborted,      // the client left before the handshake completed
  BackendUnreachable, // no backend accepted the connection (502)
  BackendTimeout,     // connect or 101 did not come in time (504)
  NoBackendAvailable, // every backend of the pool was down or full (503)
  BackendRejected,    // the backend did not answer 101 correctly (502)
  ClientLost,         // the client's TCP ended without a close frame
  BackendLost,        // the backend's TCP ended without a close frame
  ProtocolError,      // a peer broke RFC 6455 (1002; 1014 to the client for a backend)
  Utf8Invalid,        // 1007
  FrameTooBig,        // 1009
  MessageTooBig,      // 1009
  BinaryNotAllowed,   // 1008
  RateLimited,        // 4002
  Lifetime,           // 4003
  TokenExpired,       // 4001: the client's token expired (auth expiry = "close")
  IdleTimeout,        // 1001
  HeartbeatTimeout,   // the client did not answer pings
  MidFrameViolation,  // a violation inside a frame already partly forwarded: TCP closed
  Drain,              // wsgate is shutting down
  CloseTimeout,       // a peer did not finish the close handshake in time
  Shutdown,           // immediate stop
  Rebalance,          // closed to move it to another backend ([pools.rebalance])
};
const char* toString(Termination termination);

// One client connection and, once routed, its backend connection: the handshake state machine,
// the frame relay under policy, heartbeats, close semantics and the access log line.
// A session deletes itself once both connections are closed.
class Session final : public HostedSession,
                      public StreamEvents,
                      public TimerOwner,
                      private ConnectorOwner,
                      private RelayEvents {
public:
  // Every transition happens in setState().
  enum class State : uint8_t {
    ReadingRequest,   // reading the client's upgrade request; handshake timeout armed
    Resolving,        // transient: the picked backend's name resolves; connect timeout armed
    Connecting,       // transient: TCP connect to the picked backend; connect timeout armed
    TlsHandshake,     // transient: TLS handshake with a wss:// backend; connect timeout armed
    AwaitingResponse, // request forwarded; waiting for the backend's 101
    Open,             // relaying frames both ways
    Closing,          // a close handshake runs on at least one leg; close timeout armed
    Rejecting,        // an HTTP error response is being written; the client closes after it
    Closed,           // the connections are closing; the session ends with them (final)
  };
  static const char* toString(State state);

  Session(SessionHost& host, std::size_t listener_index,
          std::shared_ptr<const config::Config> config);
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // HostedSession (proxy/session/session_host.h)
  // Accepts the pending connection on `server` and starts reading the request.
  void accept(const AcceptedSocket& from, bool over_capacity) override;
  // wsgate is shutting down: close with 1001 on both legs.
  void drain() override;
  // Close everything now, without close frames.
  void abort() override;
  // An open session on backend `backend` (its metrics label) of pool `pool`.
  bool openOn(std::string_view pool, std::string_view backend) const override;
  // Moves the session: `code` to the client, 1001 to the backend (Termination::Rebalance).
  void shed(uint16_t code) override;
  State state() const { return state_; }
  // What /connections shows of this session (session_info.cpp). On the worker's thread.
  metrics::ConnectionInfo describe() const override;
  // The backend this session is bound to (counted in its live sessions), or nullptr: before a
  // pick, after a rejection, once finished. On the worker's thread.
  const BackendRuntime* boundBackend() const override { return lease_.get(); }

  // StreamEvents
  void onStreamConnect(Stream& stream, int status) override;
  void onStreamSecuring(Stream& stream) override;
  void onStreamData(Stream& stream, Block* block, std::size_t length) override;
  void onStreamEnd(Stream& stream, int status) override;
  void onStreamDrained(Stream& stream) override;
  void onStreamClosed(Stream& stream) override;
  // TimerOwner
  void onTimer(int purpose) override;

private:
  // How long the lingering close after an HTTP error waits for the client's FIN.
  static constexpr uint64_t kLingerMs = 2000;
  enum Timer : int {
    HandshakeTimer,
    PingTimer,
    PongTimer,
    IdleTimer,
    LifetimeTimer,
    CloseTimer,
    ExpiryTimer, // the token's exp (auth expiry = "close")
  };
  // Purposes that never run at once share a wheel entry: the handshake and the close timeout
  // (the phase), the ping and the pong timeout (the heartbeat).
  static constexpr std::size_t kTimerEntries = 5;
  static constexpr std::size_t entryOf(Timer timer) {
    switch (timer) {
    case HandshakeTimer:
    case CloseTimer:
      return 0;
    case PingTimer:
    case PongTimer:
      return 1;
    case IdleTimer:
      return 2;
    case LifetimeTimer:
      return 3;
    case ExpiryTimer:
      return 4;
    }
    return 0;
  }

  // Handshake (handshake.cpp)
  void onRequestData(std::span<const uint8_t> bytes);
  // Bytes the client sends after its request and before the 101: kept for the relay.
  void onEarlyClientData(std::span<const uint8_t> bytes);
  void handleRequest();
  bool routeRequest(const http::Request& request);
  // Runs the admission checks (proxy/policy/admission.h); false after a rejection.
  bool admitRequest(const http::Request& request);
  void recordAdmission(const policy::Admitted& admitted);
  void onTokenExpired();
  void rejectUnavailable(std::size_t listed, std::size_t down, std::size_t full);
  std::optional<uint64_t> hashKeyOf(const http::Request& request) const;
  void sendUpgradeRequest();
  void onResponseData(std::span<const uint8_t> bytes);
  void handleResponse();
  void reject(int status, std::string_view reason, Termination termination,
              std::vector<http::Header> extra_headers = {});
  void openSession(std::span<const uint8_t> early_backend_bytes);

  // The backend connection (backend_connect.cpp): the connector picks, resolves, connects and
  // tries the next backend; the session holds the streams.
  void connectBackend();
  bool connecting() const;
  void retireBackend();
  // ConnectorOwner
  ConnectTarget nextTarget() override;
  Stream* openStream(const sockaddr* address, std::string& error) override;
  void onConnectPhase(ConnectPhase phase) override;
  void onConnectFailed(ConnectFailure failure, const std::string& error) override;
  void onConnected() override;
  uint64_t nowMs() const override { return now(); }

  // Core, stream events and relay glue (session.cpp)
  void setState(State state);
  void arm(Timer timer, uint64_t delay_ms);
  void disarm(Timer timer);
  bool armed(Timer timer) const;
  uint64_t now() const;
  void relayData(Relay& relay, Leg& from, Leg& to, Block* block, const uint8_t* data,
                 std::size_t length);
  Relay& relayToward(Leg& leg) { return &leg == &client_ ? to_client_ : to_backend_; }
  Leg& otherLeg(Leg& leg) { return &leg == &client_ ? backend_ : client_; }
  void finish();
  void writeAccessLog(); // access_log.cpp

  // RelayEvents: close semantics (close.cpp) and heartbeats and rate (timers.cpp)
  void onViolation(Relay& relay, ws::ParseError error, bool mid_frame) override;
  void onPolicyStop(Relay& relay) override;
  bool onCloseFrame(Relay& relay, uint16_t code, std::string_view reason) override;
  bool onClientMessageStart() override;
  bool isOwnPong(std::span<const uint8_t> payload) override;
  void onInjected(Relay& relay, bool is_close) override;

  // Close semantics (close.cpp)
  void onPeerEnd(Leg& leg, bool close_received);
  void closeBoth(Termination termination, uint16_t client_code, std::string_view client_reason,
                 uint16_t backend_code, std::string_view backend_reason);
  void sendClose(Relay& toward, uint16_t code, std::string_view reason);
  void failPeer(Relay& from_offender, Termination termination, uint16_t code,
                std::string_view reason, uint16_t other_code, std::string_view other_reason,
                bool cut_other);
  // Counts what the other peer sends an offender that is owed its close (bounded).
  void countOwedBytes(Relay& relay, std::size_t length);
  void sendOwedClose();
  void onCloseTimeout();
  void abortLeg(Leg& leg);
  bool legFinished(Leg& leg);
  void checkLegDone(Leg& leg);
  void onLegDone(Leg& leg);

  // Heartbeat, idle, lifetime and drain (timers.cpp)
  void sendPing();
  void onPongTimeout();
  void onIdleTimeout(uint64_t t);

  // Metrics (session_stats.cpp)
  static const char* rejectReason(int status);
  void recordAccepted();
  void recordConnect(bool ok);
  // The picked backend's answer to the upgrade, for its health: a 5xx or no answer fails.
  void recordBackendVerdict(bool ok, std::string_view reason);
  void logConnectFailure();
  void recordOpened();
  void recordViolation(const char* kind, bool client_offended);
  void recordFinished();
  void recordLegClosed(Leg& leg);
  Leg* legOf(Stream& stream);
  // The client's IP without the port, from client_addr_ ("[::1]:5" -> "::1").
  std::string clientIp() const;

  SessionHost& host_;
  std::size_t listener_index_;
  std::shared_ptr<const config::Config> config_;
  const config::Route* route_ = nullptr;
  const config::Pool* pool_ = nullptr;
  const config::Policy* policy_ = nullptr;
  uint64_t id_;
  State state_ = State::ReadingRequest;
  Termination termination_ = Termination::None;
  bool counted_ = false;    // holds a slot of server.max_connections
  bool ip_counted_ = false; // holds a slot of max_connections_per_ip for clientIp()
  bool awaiting_pong_ = false;
  bool compressed_ = false; // the 101 negotiated permessage-deflate (for the access log)
  int http_status_ = 0;
  int open_handles_ = 0;

  Leg client_;
  Leg backend_;
  Relay to_backend_; // client -> backend
  Relay to_client_;  // backend -> client

  // Handshake state, released once the session is open.
  struct Handshake {
    http::RequestParser request{};
    http::ResponseParser response{};
    ws::UpgradeRequest upgrade; // what the client's valid upgrade request says
    std::string target;         // the target forwarded: upgrade.target or admission's rewrite
    ws::UpgradeOffer offer;     // what the forwarded request offered the backend
    std::optional<ws::DeflateSession> deflate; // what the backend's 101 negotiated
    std::vector<uint8_t> early_client;         // frames the client sent before the 101
    // Backends whose connect failed for this session; held so picked_ stays valid.
    std::vector<std::shared_ptr<BackendRuntime>> tried;
    std::optional<uint64_t> key_hash;          // consistent_hash: the request's key, hashed
    std::string last_error;                    // why the last backend attempt failed
    std::optional<BackendConnector> connector; // reaches the backend; owns its DNS lookup
    policy::Admitted admitted; // what admission found (token expiry, claims, token removal)
  };
  std::unique_ptr<Handshake> handshake_;
  std::string path_;
  std::string client_addr_;
  std::string upstream_addr_;
  const config::Backend* picked_ = nullptr; // the picked backend (in entry_)
  std::shared_ptr<BackendRuntime> entry_;   // the picked backend's run-time entry
  BackendLease lease_;                      // counts this session on entry_ while bound
  // Rarely set, so kept off the session until needed: the chosen subprotocol and why the
  // handshake failed.
  std::unique_ptr<std::string> protocol_;
  std::unique_ptr<std::string> error_;

  std::array<TimerEntry, kTimerEntries> timers_{};
  uint64_t started_ms_ = 0;
  uint64_t opened_ms_ = 0; // 0 until the session opened
  uint64_t connect_started_ms_ = 0;
  uint64_t last_activity_ms_ = 0;
  uint64_t ping_seq_ = 0;
  uint64_t ping_sent_ms_ = 0;
  uint64_t last_client_rx_ms_ = 0;
  int64_t token_close_at_ms_ = 0; // Unix ms when the token expires (ExpiryTimer armed)
  uint64_t rate_window_ = 0;
  uint64_t rate_count_ = 0;
  double last_rtt_ms_ = -1;
  const char* violation_ = nullptr; // kindOf() of the policy violation that ended the session
  // The close owed to a peer that broke the rules, sent once the other leg's close is done.
  struct OwedClose {
    Relay* toward = nullptr; // the relay that writes to the offender
    uint16_t code = 0;
    std::string reason;
    uint64_t bytes = 0; // relayed to the offender since
  };
  std::unique_ptr<OwedClose> owed_;
  std::vector<std::unique_ptr<Stream>> retired_; // backend attempts whose handles are closing
};

} // namespace wsgate::proxy
