#include "tests/bench/loadgen/modes.h"

namespace wsgate::bench {

namespace {

// Each connection asks the backend for a /flood: flood_bytes of binary messages of `size`
// bytes, then a close 1000 from the server. When one flood ends, the connection starts another
// while the load runs. Payload bytes are counted as they arrive inside the window.
class FloodBench final : public Bench {
public:
  using Bench::Bench;

private:
  bool opensAllFirst() const override { return false; }

  void onMeasureStart() override {
    bytes_ = 0;
    messages_ = 0;
  }
  void onMeasureEnd() override {
    frozen_bytes_ = bytes_;
    frozen_messages_ = messages_;
  }

  void messageReceived(Connection&, ws::Opcode opcode, uint64_t size) override {
    // The last message of a flood holds what is left when flood_bytes is not a multiple.
    const uint64_t last = options_.flood_bytes % options_.size;
    if (opcode != ws::Opcode::Binary || (size != options_.size && size != last)) ++wrong_size_;
    if (measuring()) ++messages_;
  }

  void payloadReceived(Connection&, std::span<const uint8_t> bytes, uint64_t) override {
    if (measuring()) bytes_ += bytes.size();
  }

  void connectionClosed(Connection& connection, Failure failure) override {
    if (loadRunning() && failure == Failure::None) restart(connection);
  }

  void report(JsonLine& out) const override {
    const double window = windowSeconds();
    out.add("size", options_.size);
    out.add("bytes", frozen_bytes_);
    out.add("messages", frozen_messages_);
    out.add("mb_per_s", window > 0 ? static_cast<double>(frozen_bytes_) / window / 1e6 : 0.0, 1);
    out.add("msgs_per_s", window > 0 ? static_cast<double>(frozen_messages_) / window : 0.0, 0);
    out.add("wrong_size", wrong_size_);
  }

  uint64_t unitsMeasured() const override { return frozen_messages_; }
  uint64_t modeErrors() const override { return wrong_size_; }

  uint64_t bytes_ = 0;
  uint64_t messages_ = 0;
  uint64_t frozen_bytes_ = 0;
  uint64_t frozen_messages_ = 0;
  uint64_t wrong_size_ = 0;
};

} // namespace

std::unique_ptr<Bench> makeFloodBench(const Options& options, uv_loop_t* loop) {
  return std::make_unique<FloodBench>(options, loop);
}

} // namespace wsgate::bench
