#include "common/ws/frame_writer.h"
#include "common/ws/mask.h"
#include "tests/bench/loadgen/deflate_payload.h"
#include "tests/bench/loadgen/histogram.h"
#include "tests/bench/loadgen/modes.h"

#include <cstring>

namespace wsgate::bench {

namespace {

// Opens every connection (connect_concurrency at a time), then holds them without a byte for
// the window. The RSS of the watched processes is read before the first connect and at the end
// of the window; their difference over the open connections is the memory one idle connection
// costs the proxy. With --deflate each connection first sends one compressed 4 KiB text message
// and gets its echo, so both directions of the session have used compression before it idles.
class IdleBench final : public Bench {
public:
  IdleBench(const Options& options, uv_loop_t* loop) : Bench(options, loop) {
    if (options.deflate == Deflate::Off) return;
    const std::vector<uint8_t> body = deflateMessage(makeJsonPayload(4096));
    const ws::MaskKey key{0x11, 0x22, 0x33, 0x44};
    frame_.resize(ws::kMaxFrameHeader + body.size());
    const std::size_t header =
        ws::writeFrameHeader(frame_.data(), true, ws::Opcode::Text, body.size(), &key);
    frame_[0] |= 0x40; // RSV1: compressed
    std::memcpy(frame_.data() + header, body.data(), body.size());
    ws::unmaskInPlace(std::span<uint8_t>(frame_.data() + header, body.size()), key, 0);
    frame_.resize(header + body.size());
  }

private:
  bool opensAllFirst() const override { return true; }
  double warmupSeconds() const override { return 0; }

  void connectionOpened(Connection& connection) override {
    upgrade_latency_.record(uv_hrtime() - connection.startedAt());
    if (!frame_.empty()) connection.send(frame_, 1);
  }

  void messageReceived(Connection&, ws::Opcode, uint64_t) override { ++echoes_; }

  void report(JsonLine& out) const override {
    out.add("open", openAtMeasureEnd());
    out.add("open_s", openingSeconds(), 3);
    out.add("upgrade_p50_ms", static_cast<double>(upgrade_latency_.percentile(50)) / 1e6, 2);
    if (!frame_.empty()) out.add("compressed_echoes", echoes_);
    out.add("upgrade_p99_ms", static_cast<double>(upgrade_latency_.percentile(99)) / 1e6, 2);
    if (rssBefore() >= 0 && rssAfter() >= 0 && openAtMeasureEnd() > 0) {
      out.add("rss_per_conn_kib",
              static_cast<double>(rssAfter() - rssBefore()) / openAtMeasureEnd(), 2);
    }
  }

  Histogram upgrade_latency_;
  std::vector<uint8_t> frame_; // the compressed message each connection sends (--deflate)
  uint64_t echoes_ = 0;
};

} // namespace

std::unique_ptr<Bench> makeIdleBench(const Options& options, uv_loop_t* loop) {
  return std::make_unique<IdleBench>(options, loop);
}

} // namespace wsgate::bench
