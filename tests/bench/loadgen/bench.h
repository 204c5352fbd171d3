#pragma once

#include "tests/bench/loadgen/connection.h"
#include "tests/bench/loadgen/json_line.h"
#include "tests/bench/loadgen/options.h"
#include "tests/bench/loadgen/uv_handle.h"

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

namespace wsgate::bench {

// The frame of one benchmark, shared by its modes: connections, phases, timers, signals,
// failure counts, and the CPU and RSS of the watched processes.
//
// Phases (transitions in setPhase() only):
//   Opening   connections are being opened; modes whose load needs every connection open
//             (echo, idle) wait here until all are open or have failed
//   Warmup    load runs, nothing is counted
//   Measure   load runs and is counted; the watched processes' CPU time is sampled at both ends
//   Draining  load stops; every open connection gets a close frame; what is still open after
//             the grace time is aborted
//   Done      every connection is idle; the timers and signal handlers are closing (transient)
class Bench : public ConnectionEvents {
public:
  Bench(const Options& options, uv_loop_t* loop);
  ~Bench() override;
  Bench(const Bench&) = delete;
  Bench& operator=(const Bench&) = delete;

  // Resolves the target and starts the benchmark; the caller then runs the loop until it has
  // no handles left. Returns 0, or a libuv error when nothing could start.
  int start();
  // The result line, once the loop has finished.
  std::string result() const;
  // True when no connection failed and something was measured.
  bool clean() const;

protected:
  enum class Phase : uint8_t { Opening, Warmup, Measure, Draining, Done };
  static const char* toString(Phase phase);

  // Whether load may start only once every connection is open.
  virtual bool opensAllFirst() const = 0;
  // Seconds of unmeasured load before the window.
  virtual double warmupSeconds() const { return options_.warmup_s; }
  // Load begins (once the phase is Warmup, or Measure when there is no warmup).
  virtual void onLoadStart() {}
  // The counted window begins and ends: reset and freeze the mode's counters.
  virtual void onMeasureStart() {}
  virtual void onMeasureEnd() {}
  // Mode events, forwarded from the connections after the base bookkeeping.
  virtual void connectionOpened(Connection& connection) { (void)connection; }
  virtual void messageReceived(Connection& connection, ws::Opcode opcode, uint64_t size) {
    (void)connection;
    (void)opcode;
    (void)size;
  }
  virtual void payloadReceived(Connection& connection, std::span<const uint8_t> bytes,
                               uint64_t offset) {
    (void)connection;
    (void)bytes;
    (void)offset;
  }
  virtual void readDone(Connection& connection) { (void)connection; }
  virtual void connectionClosed(Connection& connection, Failure failure) {
    (void)connection;
    (void)failure;
  }
  // Adds the mode's fields to the result line.
  virtual void report(JsonLine& out) const = 0;
  // The count the watched processes' CPU time is divided by (messages, upgrades); 0 for none.
  virtual uint64_t unitsMeasured() const { return 0; }
  // Errors the mode found itself (wrong sizes or content).
  virtual uint64_t modeErrors() const { return 0; }

  // Starts another cycle on an idle connection (handshake and flood modes).
  void restart(Connection& connection);
  bool loadRunning() const { return phase_ == Phase::Warmup || phase_ == Phase::Measure; }
  bool measuring() const { return phase_ == Phase::Measure; }
  double windowSeconds() const;
  uv_loop_t* loop() const { return loop_; }
  // The watched processes' RSS in KiB before any connection and at the end of the window.
  long rssBefore() const { return rss_before_; }
  long rssAfter() const { return rss_after_; }
  int openAtMeasureEnd() const { return open_at_measure_end_; }
  // Seconds from the first connect until every connection was open (0 when not all opened).
  double openingSeconds() const;
  std::vector<std::unique_ptr<Connection>>& connections() { return connections_; }

  const Options& options_;

private:
  // ConnectionEvents, for every mode.
  void onOpen(Connection& connection) final;
  void onMessage(Connection& connection, ws::Opcode opcode, uint64_t size) final;
  void onPayload(Connection& connection, std::span<const uint8_t> bytes, uint64_t offset) final;
  void onReadDone(Connection& connection) final;
  void onClosed(Connection& connection, Failure failure) final;

  static void onPhaseTimer(uv_timer_t* timer);
  static void onTick(uv_timer_t* timer);
  static void onSignal(uv_signal_t* handle, int signum);

  void setPhase(Phase next);
  void startPending();
  void beginLoad();
  void beginMeasure();
  void endMeasure();
  void beginDrain();
  void checkDeadlines();
  void maybeFinish();
  void armPhaseTimer(double seconds);

  uv_loop_t* loop_;
  Target target_;
  Phase phase_ = Phase::Opening;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::deque<int> pending_;       // connections not started yet (opening in batches)
  std::vector<uint8_t> in_setup_; // per connection: started and not yet open in this cycle
  int setting_up_ = 0;
  int open_ = 0;
  int active_ = 0; // connections not Idle
  bool interrupted_ = false;
  std::array<uint64_t, kFailureKinds> failures_{}; // indexed by Failure

  UvHandle<uv_timer_t> phase_timer_;
  UvHandle<uv_timer_t> tick_timer_;
  UvHandle<uv_signal_t> sigint_;
  UvHandle<uv_signal_t> sigterm_;

  uint64_t opening_started_ = 0; // uv_hrtime
  uint64_t all_open_at_ = 0;
  uint64_t measure_started_ = 0;
  uint64_t measure_ended_ = 0;
  double cpu_before_ = -1;
  double cpu_after_ = -1;
  double self_cpu_before_ = 0;
  double self_cpu_after_ = 0;
  long rss_before_ = -1;
  long rss_after_ = -1;
  int open_at_measure_end_ = 0;
};

} // namespace wsgate::bench
