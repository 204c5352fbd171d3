#include "tests/bench/loadgen/histogram.h"
#include "tests/bench/loadgen/modes.h"

namespace wsgate::bench {

namespace {

// Opens every connection (connect_concurrency at a time), then holds them without a byte for
// the window. The RSS of the watched processes is read before the first connect and at the end
// of the window; their difference over the open connections is the memory one idle connection
// costs the proxy.
class IdleBench final : public Bench {
public:
  using Bench::Bench;

private:
  bool opensAllFirst() const override { return true; }
  double warmupSeconds() const override { return 0; }

  void connectionOpened(Connection& connection) override {
    upgrade_latency_.record(uv_hrtime() - connection.startedAt());
  }

  void report(JsonLine& out) const override {
    out.add("open", openAtMeasureEnd());
    out.add("open_s", openingSeconds(), 3);
    out.add("upgrade_p50_ms", static_cast<double>(upgrade_latency_.percentile(50)) / 1e6, 2);
    out.add("upgrade_p99_ms", static_cast<double>(upgrade_latency_.percentile(99)) / 1e6, 2);
    if (rssBefore() >= 0 && rssAfter() >= 0 && openAtMeasureEnd() > 0) {
      out.add("rss_per_conn_kib",
              static_cast<double>(rssAfter() - rssBefore()) / openAtMeasureEnd(), 2);
    }
  }

  Histogram upgrade_latency_;
};

} // namespace

std::unique_ptr<Bench> makeIdleBench(const Options& options, uv_loop_t* loop) {
  return std::make_unique<IdleBench>(options, loop);
}

} // namespace wsgate::bench
