#pragma once

#include "common/config/values.h"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

// Every metric wsgate exports: its name, and the bounded sets its label values come from.
// Names follow the Prometheus naming guide: the wsgate_ prefix, base units (seconds, bytes),
// counters end in _total. The README's metrics list, the Grafana dashboard and the alert rules
// use these names; tests/integration/metrics.test.mjs checks they agree.
namespace wsgate::proxy::metrics {

namespace name {
// Build and process.
inline constexpr std::string_view kBuildInfo = "wsgate_build_info";
inline constexpr std::string_view kProcessStartTime = "wsgate_process_start_time_seconds";
inline constexpr std::string_view kProcessCpu = "wsgate_process_cpu_seconds_total";
inline constexpr std::string_view kProcessResidentMemory = "wsgate_process_resident_memory_bytes";
inline constexpr std::string_view kProcessVirtualMemory = "wsgate_process_virtual_memory_bytes";
inline constexpr std::string_view kProcessOpenFds = "wsgate_process_open_fds";
inline constexpr std::string_view kProcessMaxFds = "wsgate_process_max_fds";
inline constexpr std::string_view kWorkers = "wsgate_workers";
inline constexpr std::string_view kLoopLag = "wsgate_worker_loop_lag_seconds";
inline constexpr std::string_view kWorkerIoEngine = "wsgate_worker_io_engine";
// Operations.
inline constexpr std::string_view kConfigReloads = "wsgate_config_reloads_total";
inline constexpr std::string_view kConfigLastReloadSuccessful =
    "wsgate_config_last_reload_successful";
inline constexpr std::string_view kConfigLastReloadSuccessTime =
    "wsgate_config_last_reload_success_timestamp_seconds";
inline constexpr std::string_view kDraining = "wsgate_draining";
// Client connections.
inline constexpr std::string_view kConnectionsActive = "wsgate_connections_active";
inline constexpr std::string_view kConnectionsAccepted = "wsgate_connections_accepted_total";
inline constexpr std::string_view kConnectionsRejected = "wsgate_connections_rejected_total";
// Handshakes.
inline constexpr std::string_view kHandshakes = "wsgate_handshakes_total";
inline constexpr std::string_view kHandshakeDuration = "wsgate_handshake_duration_seconds";
// Sessions.
inline constexpr std::string_view kSessionsActive = "wsgate_sessions_active";
inline constexpr std::string_view kSessionDuration = "wsgate_session_duration_seconds";
// Data.
inline constexpr std::string_view kFrames = "wsgate_frames_total";
inline constexpr std::string_view kMessages = "wsgate_messages_total";
inline constexpr std::string_view kPayloadBytes = "wsgate_payload_bytes_total";
// permessage-deflate: compressed messages, their payload bytes on the wire and inflated.
inline constexpr std::string_view kCompressedMessages = "wsgate_compressed_messages_total";
inline constexpr std::string_view kCompressedPayloadBytes = "wsgate_compressed_payload_bytes_total";
inline constexpr std::string_view kInflatedBytes = "wsgate_inflated_bytes_total";
// Closes and policy.
inline constexpr std::string_view kCloses = "wsgate_closes_total";
inline constexpr std::string_view kPolicyViolations = "wsgate_policy_violations_total";
// Heartbeats.
inline constexpr std::string_view kPingsSent = "wsgate_heartbeat_pings_sent_total";
inline constexpr std::string_view kPongsReceived = "wsgate_heartbeat_pongs_received_total";
inline constexpr std::string_view kHeartbeatTimeouts = "wsgate_heartbeat_timeouts_total";
inline constexpr std::string_view kPingRtt = "wsgate_heartbeat_rtt_seconds";
// Admission: authentication and reconnect storms.
inline constexpr std::string_view kAuthResults = "wsgate_auth_results_total";
inline constexpr std::string_view kAuthExpiredCloses = "wsgate_auth_token_expired_closes_total";
inline constexpr std::string_view kHandshakesRateLimited = "wsgate_handshakes_rate_limited_total";
// Backends.
inline constexpr std::string_view kBackendUp = "wsgate_backend_up";
inline constexpr std::string_view kBackendConnectionsActive = "wsgate_backend_connections_active";
inline constexpr std::string_view kBackendConnectFailures = "wsgate_backend_connect_failures_total";
inline constexpr std::string_view kBackendConnectDuration =
    "wsgate_backend_connect_duration_seconds";
// Balancing (the pools' run-time state, proxy/balancer/).
inline constexpr std::string_view kBackendLiveSessions = "wsgate_backend_live_sessions";
inline constexpr std::string_view kBackendPicks = "wsgate_backend_picks_total";
inline constexpr std::string_view kBackendSkips = "wsgate_backend_skips_total";
inline constexpr std::string_view kBackendWeight = "wsgate_backend_effective_weight";
inline constexpr std::string_view kSessionsShed = "wsgate_sessions_shed_total";
} // namespace name

// Label names.
namespace label {
inline constexpr std::string_view kListener = "listener";
inline constexpr std::string_view kRoute = "route";
inline constexpr std::string_view kPool = "pool";
inline constexpr std::string_view kBackend = "backend";
inline constexpr std::string_view kReason = "reason";
inline constexpr std::string_view kStatus = "status";
inline constexpr std::string_view kDirection = "direction";
inline constexpr std::string_view kOpcode = "opcode";
inline constexpr std::string_view kLeg = "leg";
inline constexpr std::string_view kClosedBy = "closed_by";
inline constexpr std::string_view kCode = "code";
inline constexpr std::string_view kKind = "kind";
inline constexpr std::string_view kOffender = "offender";
inline constexpr std::string_view kResult = "result";
inline constexpr std::string_view kWorker = "worker";
inline constexpr std::string_view kEngine = "engine"; // epoll | io_uring
inline constexpr std::string_view kVersion = "version";
} // namespace label

// Label values for `direction`, indexed by metrics::Direction.
inline constexpr std::array<std::string_view, 2> kDirectionNames{"client_to_backend",
                                                                 "backend_to_client"};

// The opcodes a frame can have once the parser accepted its header, with their label values.
struct OpcodeName {
  uint8_t opcode;
  std::string_view name;
};
inline constexpr std::array<OpcodeName, 6> kFrameOpcodes{{{0x0, "continuation"},
                                                          {0x1, "text"},
                                                          {0x2, "binary"},
                                                          {0x8, "close"},
                                                          {0x9, "ping"},
                                                          {0xA, "pong"}}};
// A message is counted at its first frame: text or binary.
inline constexpr std::array<OpcodeName, 2> kMessageOpcodes{{{0x1, "text"}, {0x2, "binary"}}};

// Statuses wsgate answers a handshake with (101 or an HTTP error).
inline constexpr std::array<int, 15> kHandshakeStatuses{101, 400, 401, 403, 404, 405, 408, 414,
                                                        426, 429, 431, 502, 503, 504, 505};

// Why a client connection got an HTTP error instead of 101 (the `reason` label), by status.
const char* rejectReason(int status);
// Every value rejectReason() returns.
inline constexpr std::array<std::string_view, 14> kRejectReasons{"bad_request",
                                                                 "unauthorized",
                                                                 "origin_not_allowed",
                                                                 "no_route",
                                                                 "method_not_allowed",
                                                                 "handshake_timeout",
                                                                 "headers_too_large",
                                                                 "unsupported_version",
                                                                 "per_ip_limit",
                                                                 "backend_error",
                                                                 "unavailable",
                                                                 "backend_timeout",
                                                                 "unsupported_http_version",
                                                                 "other"};

// Close codes as label values: the registered codes 1000-1015 and wsgate's 4001-4003 as
// numbers, other codes as their class ("3xxx", "4xxx", "other"), so a peer cannot create
// unbounded series.
std::string closeCodeLabel(uint16_t code);
// Every value closeCodeLabel() returns.
inline constexpr std::array<std::string_view, 22> kCloseCodeLabels{
    "1000", "1001", "1002", "1003", "1004", "1005", "1006", "1007", "1008", "1009", "1010",
    "1011", "1012", "1013", "1014", "1015", "4001", "4002", "4003", "3xxx", "4xxx", "other"};
inline constexpr std::array<std::string_view, 2> kLegs{"client", "backend"};
inline constexpr std::array<std::string_view, 3> kClosedBy{"client", "backend", "proxy"};

// Policy violations (the `kind` label) and who can commit them (`offender`).
struct ViolationKind {
  std::string_view kind;
  bool backend_can_offend; // rate and lifetime limits apply to clients only
};
inline constexpr std::array<ViolationKind, 7> kViolationKinds{{{"frame_too_big", true},
                                                               {"message_too_big", true},
                                                               {"utf8", true},
                                                               {"protocol", true},
                                                               {"binary_not_allowed", true},
                                                               {"rate_limited", false},
                                                               {"lifetime", false}}};

// Why a pick passed a backend over (the `reason` of wsgate_backend_skips_total).
inline constexpr std::array<std::string_view, 3> kSkipReasons{"down", "full", "bounded_load"};

// The `backend` label of a configured backend: "host:port" as written (wss:// backends too).
std::string backendLabel(const config::Backend& backend);

} // namespace wsgate::proxy::metrics
