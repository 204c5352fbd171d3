#pragma once

#include "common/auth/failure.h"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::proxy::metrics {

// A counter written by one worker thread and read by the scrape: a relaxed load and store
// (no locked read-modify-write) keeps the hot path as cheap as a plain increment.
class Counter {
public:
  void add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void sub(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  uint64_t get() const { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<uint64_t> value_{0};
};

// A value one thread sets and the scrape reads.
class Gauge {
public:
  void set(uint64_t value) { value_.store(value, std::memory_order_relaxed); }
  uint64_t get() const { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<uint64_t> value_{0};
};

// A histogram with fixed upper bounds (in seconds), one writer.
template <std::size_t N> class Histogram {
public:
  explicit constexpr Histogram(const std::array<double, N>& bounds) : bounds_(bounds) {}
  void observe(double seconds) {
    std::size_t i = 0;
    while (i < N && seconds > bounds_[i])
      ++i;
    buckets_[i].add();
    // The sum is kept in microseconds so that it stays an integer counter.
    sum_us_.add(static_cast<uint64_t>(seconds * 1e6));
  }
  const std::array<double, N>& bounds() const { return bounds_; }
  // Non-cumulative count of bucket i (i == N: above the last bound).
  uint64_t bucket(std::size_t i) const { return buckets_[i].get(); }
  double sum() const { return static_cast<double>(sum_us_.get()) / 1e6; }

private:
  std::array<double, N> bounds_;
  std::array<Counter, N + 1> buckets_{};
  Counter sum_us_;
};

inline constexpr std::array<double, 12> kLatencyBounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                       0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
inline constexpr std::array<double, 12> kSessionBounds{1,    5,    15,   60,    300,   900,
                                                       1800, 3600, 7200, 14400, 43200, 86400};

enum class Direction : uint8_t { ClientToBackend, BackendToClient };
inline constexpr std::size_t kDirections = 2;
inline constexpr std::size_t kOpcodes = 16; // indexed by the wire opcode

// What one worker counts, listed once: WorkerStats and Totals declare a field for each entry
// and sumWorker() adds each one up, so a count added here needs no other list kept in step
// (collector.cpp then exports it under its name from names.h).
//
// Data path, by direction (metrics::Direction) and wire opcode.
#define WSGATE_OPCODE_COUNTS(X)                                                                    \
  X(frames)   /* frames read from each side */                                                     \
  X(messages) /* data messages, counted at their first frame */
// Data path, by direction.
#define WSGATE_DIRECTION_COUNTS(X)                                                                 \
  X(payload_bytes)            /* payload bytes of the frames read */                               \
  X(compressed_messages)      /* permessage-deflate messages */                                    \
  X(compressed_payload_bytes) /* their payload bytes as read (compressed) */                       \
  X(inflated_bytes)           /* the bytes they inflated to */
// Plain counters.
#define WSGATE_SCALAR_COUNTS(X)                                                                    \
  X(pings_sent)                                                                                    \
  X(pongs_received)                                                                                \
  X(heartbeat_timeouts)                                                                            \
  X(handshakes_rate_limited) /* refused by max_handshakes_per_second_per_ip */                     \
  X(token_expired_closes)    /* sessions closed with 4001 when their token expired */
// Latency histograms (kLatencyBounds).
#define WSGATE_LATENCY_HISTOGRAMS(X) X(ping_rtt) X(handshake_duration)
// Counts and gauges keyed by label values (metrics::key() of the labels named), touched only
// when a connection starts or ends.
#define WSGATE_KEYED_COUNTS(X)                                                                     \
  X(accepted)         /* listener */                                                               \
  X(active)           /* listener (gauge) */                                                       \
  X(rejected)         /* listener, reason */                                                       \
  X(handshakes)       /* listener, status */                                                       \
  X(sessions_active)  /* route, pool (gauge) */                                                    \
  X(closes)           /* leg, closed_by, code */                                                   \
  X(violations)       /* kind, offender */                                                         \
  X(backend_active)   /* pool, backend (gauge) */                                                  \
  X(connect_failures) /* pool, backend */                                                          \
  X(shed)             /* pool, reason (overload | removed) */
// Histograms keyed like the above.
#define WSGATE_KEYED_HISTOGRAMS(X)                                                                 \
  X(connect_duration) /* pool */                                                                   \
  X(session_duration) /* route */

// The fixed-size parts are written on the data path; the keyed maps only under `mutex`, which
// the scrape also takes.
// The field macros below take a declarator, which cannot be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
struct WorkerStats {
#define WSGATE_FIELD(name) std::array<std::array<Counter, kOpcodes>, kDirections> name{};
  WSGATE_OPCODE_COUNTS(WSGATE_FIELD)
#undef WSGATE_FIELD
#define WSGATE_FIELD(name) std::array<Counter, kDirections> name{};
  WSGATE_DIRECTION_COUNTS(WSGATE_FIELD)
#undef WSGATE_FIELD
#define WSGATE_FIELD(name) Counter name;
  WSGATE_SCALAR_COUNTS(WSGATE_FIELD)
#undef WSGATE_FIELD
#define WSGATE_FIELD(name) Histogram<12> name{kLatencyBounds};
  WSGATE_LATENCY_HISTOGRAMS(WSGATE_FIELD)
#undef WSGATE_FIELD
  // Authentication results, indexed by auth::Failure.
  std::array<Counter, auth::kFailureCount> auth_results{};
  // Event-loop lag of this worker in microseconds: the largest of the last full second.
  Gauge loop_lag_us;
  // The socket engine of this worker: 1 for io_uring, 0 for epoll (set once at start).
  Gauge io_uring;

  std::mutex mutex;
  // Keys are label values joined with '\x1f' (listener, or pool+backend, ...).
#define WSGATE_FIELD(name) std::map<std::string, uint64_t> name;
  WSGATE_KEYED_COUNTS(WSGATE_FIELD)
#undef WSGATE_FIELD
#define WSGATE_FIELD(name) std::map<std::string, Histogram<12>> name;
  WSGATE_KEYED_HISTOGRAMS(WSGATE_FIELD)
#undef WSGATE_FIELD
};
// NOLINTEND(bugprone-macro-parentheses)

// What the main thread counts (reloads); the scrape runs on the same thread.
struct ServerStats {
  Counter reloads_succeeded;
  Counter reloads_failed;
  Gauge last_reload_successful{};    // 1 or 0
  Gauge last_reload_success_unix_ms; // the initial load counts as a successful one
};

// Joins label values into a map key.
std::string key(std::initializer_list<std::string_view> values);
// The label values of a map key, in order.
std::vector<std::string_view> splitKey(std::string_view key);

} // namespace wsgate::proxy::metrics
