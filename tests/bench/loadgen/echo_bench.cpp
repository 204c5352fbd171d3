#include "common/ws/frame_writer.h"
#include "common/ws/mask.h"
#include "tests/bench/loadgen/deflate_payload.h"
#include "tests/bench/loadgen/histogram.h"
#include "tests/bench/loadgen/modes.h"

#include <cstring>
#include <string_view>

namespace wsgate::bench {

namespace {

// A payload of `size` bytes. ASCII: printable characters. UTF-8: ASCII mixed with 2-, 3- and
// 4-byte sequences, padded with ASCII so no sequence is cut at the end.
std::vector<uint8_t> makePayload(uint64_t size, Content content) {
  if (content == Content::Json) return makeJsonPayload(size);
  std::vector<uint8_t> payload;
  payload.reserve(size);
  constexpr std::string_view kAscii = "The quick brown fox jumps over the lazy dog 0123456789. ";
  constexpr std::string_view kMixed = "abc \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 xyz ";
  const std::string_view pattern = content == Content::Ascii ? kAscii : kMixed;
  while (payload.size() + pattern.size() <= size) {
    payload.insert(payload.end(), pattern.begin(), pattern.end());
  }
  while (payload.size() < size)
    payload.push_back('.');
  return payload;
}

// The complete masked frame a client sends for `payload` (RSV1 set when it is compressed).
std::vector<uint8_t> makeFrame(std::span<const uint8_t> payload, ws::Opcode opcode,
                               bool compressed) {
  const ws::MaskKey key{0x37, 0xfa, 0x21, 0x3d};
  std::vector<uint8_t> frame(ws::kMaxFrameHeader + payload.size());
  const std::size_t header = ws::writeFrameHeader(frame.data(), true, opcode, payload.size(), &key);
  frame.resize(header + payload.size());
  if (compressed) frame[0] |= 0x40;
  std::memcpy(frame.data() + header, payload.data(), payload.size());
  ws::unmaskInPlace(std::span<uint8_t>(frame.data() + header, payload.size()), key, 0);
  return frame;
}

// Every connection sends the same frame (one mask key for all: the proxies under test do not
// care, and 64 KiB frames are not copied per connection). Send times wait in a ring per
// connection, since echoes come back in order.
class EchoBench final : public Bench {
public:
  EchoBench(const Options& options, uv_loop_t* loop)
      : Bench(options, loop), opcode_(options.text ? ws::Opcode::Text : ws::Opcode::Binary),
        payload_(makePayload(options.size, options.content)),
        wire_(options.deflate != Deflate::Off ? deflateMessage(payload_) : payload_),
        frame_(makeFrame(wire_, opcode_, options.deflate != Deflate::Off)),
        depth_(static_cast<std::size_t>(options.pipeline)),
        sent_at_(static_cast<std::size_t>(options.connections) * depth_),
        ring_(static_cast<std::size_t>(options.connections)) {}

private:
  struct Ring {
    std::size_t head = 0;  // the oldest send time
    std::size_t count = 0; // messages in flight
    unsigned due = 0;      // echoes received in this read: as many messages to send
  };

  bool opensAllFirst() const override { return true; }

  void onLoadStart() override {
    for (const auto& connection : connections()) {
      if (connection->state() != Connection::State::Open) continue;
      ring_[index(*connection)].due = static_cast<unsigned>(depth_);
      readDone(*connection);
    }
  }

  void onMeasureStart() override {
    messages_ = 0;
    latency_.reset();
  }

  void onMeasureEnd() override { frozen_messages_ = messages_; }

  void messageReceived(Connection& connection, ws::Opcode opcode, uint64_t size) override {
    Ring& ring = ring_[index(connection)];
    if (opcode != opcode_ || size != wire_.size()) ++wrong_size_;
    if (ring.count == 0) {
      ++unexpected_; // an echo of nothing we sent
      return;
    }
    const uint64_t sent = sent_at_[index(connection) * depth_ + ring.head];
    ring.head = ring.head + 1 == depth_ ? 0 : ring.head + 1;
    --ring.count;
    if (measuring()) {
      ++messages_;
      latency_.record(uv_hrtime() - sent);
    }
    if (loadRunning()) ++ring.due;
  }

  void payloadReceived(Connection&, std::span<const uint8_t> bytes, uint64_t offset) override {
    if (!options_.verify_content) return;
    if (offset + bytes.size() > wire_.size() ||
        std::memcmp(wire_.data() + offset, bytes.data(), bytes.size()) != 0) {
      ++wrong_content_;
    }
  }

  void readDone(Connection& connection) override {
    Ring& ring = ring_[index(connection)];
    if (ring.due == 0 || !loadRunning()) return;
    const uint64_t now = uv_hrtime();
    const std::size_t base = index(connection) * depth_;
    for (unsigned i = 0; i < ring.due; ++i) {
      sent_at_[base + (ring.head + ring.count) % depth_] = now;
      ++ring.count;
    }
    const unsigned copies = ring.due;
    ring.due = 0;
    connection.send(frame_, copies);
  }

  void report(JsonLine& out) const override {
    const double window = windowSeconds();
    const uint64_t messages = frozen_messages_;
    out.add("size", options_.size);
    out.add("opcode", options_.text ? "text" : "binary");
    out.add("pipeline", options_.pipeline);
    out.add("messages", messages);
    out.add("msgs_per_s", window > 0 ? static_cast<double>(messages) / window : 0.0, 0);
    out.add("mb_per_s",
            window > 0 ? static_cast<double>(messages * options_.size) / window / 1e6 : 0.0, 1);
    if (options_.deflate != Deflate::Off) {
      // mb_per_s counts the messages' own (inflated) bytes; this one what crossed the wire.
      out.add("wire_mb_per_s",
              window > 0 ? static_cast<double>(messages * wire_.size()) / window / 1e6 : 0.0, 1);
      out.add("deflate_ratio", static_cast<double>(payload_.size()) / wire_.size(), 2);
    }
    out.add("p50_us", static_cast<double>(latency_.percentile(50)) / 1e3, 1);
    out.add("p99_us", static_cast<double>(latency_.percentile(99)) / 1e3, 1);
    out.add("p999_us", static_cast<double>(latency_.percentile(99.9)) / 1e3, 1);
    out.add("max_us", static_cast<double>(latency_.max()) / 1e3, 1);
    out.add("wrong_size", wrong_size_);
    if (options_.verify_content) out.add("wrong_content", wrong_content_);
  }

  uint64_t unitsMeasured() const override { return frozen_messages_; }
  uint64_t modeErrors() const override { return wrong_size_ + wrong_content_ + unexpected_; }

  static std::size_t index(const Connection& connection) {
    return static_cast<std::size_t>(connection.index());
  }

  const ws::Opcode opcode_;
  const std::vector<uint8_t> payload_;
  const std::vector<uint8_t> wire_; // the payload as sent: payload_, or compressed
  const std::vector<uint8_t> frame_;
  const std::size_t depth_;
  std::vector<uint64_t> sent_at_; // depth_ slots per connection
  std::vector<Ring> ring_;
  Histogram latency_;
  uint64_t messages_ = 0;
  uint64_t frozen_messages_ = 0;
  uint64_t wrong_size_ = 0;
  uint64_t wrong_content_ = 0;
  uint64_t unexpected_ = 0;
};

} // namespace

std::unique_ptr<Bench> makeEchoBench(const Options& options, uv_loop_t* loop) {
  return std::make_unique<EchoBench>(options, loop);
}

} // namespace wsgate::bench
