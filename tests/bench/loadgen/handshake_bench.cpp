#include "tests/bench/loadgen/histogram.h"
#include "tests/bench/loadgen/modes.h"

namespace wsgate::bench {

namespace {

// Each connection loops: connect, upgrade (the 101 and its Sec-WebSocket-Accept checked), close
// frame, the server's close frame, the server's FIN, and again. An upgrade counts when its 101
// arrives inside the window; its latency runs from the connect to the checked 101.
class HandshakeBench final : public Bench {
public:
  using Bench::Bench;

private:
  bool opensAllFirst() const override { return false; }

  void onMeasureStart() override {
    upgrades_ = 0;
    latency_.reset();
  }
  void onMeasureEnd() override { frozen_upgrades_ = upgrades_; }

  void connectionOpened(Connection& connection) override {
    if (measuring()) {
      ++upgrades_;
      latency_.record(uv_hrtime() - connection.startedAt());
    }
    connection.sendClose();
  }

  void connectionClosed(Connection& connection, Failure failure) override {
    (void)failure;
    if (loadRunning()) restart(connection);
  }

  void report(JsonLine& out) const override {
    const double window = windowSeconds();
    out.add("upgrades", frozen_upgrades_);
    out.add("upgrades_per_s", window > 0 ? static_cast<double>(frozen_upgrades_) / window : 0.0, 0);
    out.add("p50_us", static_cast<double>(latency_.percentile(50)) / 1e3, 1);
    out.add("p99_us", static_cast<double>(latency_.percentile(99)) / 1e3, 1);
    out.add("p999_us", static_cast<double>(latency_.percentile(99.9)) / 1e3, 1);
    out.add("max_us", static_cast<double>(latency_.max()) / 1e3, 1);
  }

  uint64_t unitsMeasured() const override { return frozen_upgrades_; }

  Histogram latency_;
  uint64_t upgrades_ = 0;
  uint64_t frozen_upgrades_ = 0;
};

} // namespace

std::unique_ptr<Bench> makeHandshakeBench(const Options& options, uv_loop_t* loop) {
  return std::make_unique<HandshakeBench>(options, loop);
}

} // namespace wsgate::bench
