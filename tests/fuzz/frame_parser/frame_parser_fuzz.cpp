// libFuzzer target for the streaming frame parser. The first byte picks the options, the
// second the chunk size (bit 5 of the first: permessage-deflate); the rest is the frame stream.
// Invariants are checked with abort().
#include "common/ws/frame_parser.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

namespace {

class CheckingSink : public wsgate::ws::FrameSink {
public:
  void onFrameHeader(const wsgate::ws::FrameHeader& header) override {
    if (in_frame_) std::abort();
    in_frame_ = true;
    if (wsgate::ws::isControl(header.opcode) && header.payload_length > 125) std::abort();
    left_ = header.payload_length;
  }
  void onPayload(const wsgate::ws::FrameHeader&, std::span<const uint8_t> wire) override {
    if (!in_frame_ || wire.size() > left_) std::abort();
    left_ -= wire.size();
  }
  void onFrameEnd(const wsgate::ws::FrameHeader& header, std::span<const uint8_t> control,
                  std::size_t end) override {
    if (!in_frame_ || end > chunk_size) std::abort();
    if (wsgate::ws::isControl(header.opcode) ? control.size() != header.payload_length
                                             : left_ != 0) {
      std::abort();
    }
    in_frame_ = false;
  }
  std::size_t chunk_size = 0;

private:
  bool in_frame_ = false;
  uint64_t left_ = 0;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  wsgate::ws::ParserOptions options;
  options.peer = (data[0] & 1) != 0 ? wsgate::ws::Role::Server : wsgate::ws::Role::Client;
  options.validate_utf8 = (data[0] & 2) == 0;
  options.allow_binary = (data[0] & 4) == 0;
  if ((data[0] & 8) != 0) {
    options.max_frame_size = 64;
    options.max_message_size = 200;
  }
  options.allowed_rsv = (data[0] & 16) != 0 ? 4 : 0;
  if ((data[0] & 32) != 0) {
    // permessage-deflate: compressed messages are inflated and checked.
    options.deflate = wsgate::ws::DeflateDirection{
        static_cast<uint8_t>((data[0] & 64) != 0 ? 9 : 15), (data[0] & 128) != 0};
  }
  const std::size_t step = 1 + data[1] % 64;
  wsgate::ws::FrameParser parser(options);
  CheckingSink sink;
  std::span<const uint8_t> rest(data + 2, size - 2);
  while (!rest.empty()) {
    const std::size_t n = rest.size() < step ? rest.size() : step;
    sink.chunk_size = n;
    const wsgate::ws::FeedResult r = parser.feed(rest.first(n), sink);
    if (!r.ok()) {
      if (r.consumed >= n || parser.error() != r.error) std::abort();
      if (wsgate::ws::closeCodeFor(r.error) < 1002) std::abort();
      break;
    }
    rest = rest.subspan(n);
  }
  return 0;
}
