// The frame path as the proxy runs it on client frames: parse, unmask and UTF-8 validate.
#include "common/ws/frame_parser.h"
#include "common/ws/frame_writer.h"
#include "common/ws/mask.h"

#include <benchmark/benchmark.h>
#include <string>
#include <vector>

namespace {

using wsgate::ws::FrameHeader;
using wsgate::ws::Opcode;

const wsgate::ws::MaskKey kKey{0x12, 0x34, 0x56, 0x78};

class CountingSink : public wsgate::ws::FrameSink {
public:
  void onFrameEnd(const FrameHeader&, std::span<const uint8_t>, std::size_t) override { ++frames; }
  uint64_t frames = 0;
};

void appendFrame(std::vector<uint8_t>& out, Opcode op, const std::string& payload) {
  uint8_t header[wsgate::ws::kMaxFrameHeader];
  const std::size_t n = wsgate::ws::writeFrameHeader(header, true, op, payload.size(), &kKey);
  out.insert(out.end(), header, header + n);
  const std::size_t at = out.size();
  out.resize(at + payload.size());
  wsgate::ws::unmaskCopy(
      std::span(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()), out.data() + at,
      kKey, 0);
}

std::string mixedText(std::size_t size) {
  const std::string pieces[] = {"hello ", "\xc3\xa9\xc3\xa8 ", "\xe4\xb8\x96\xe7\x95\x8c ",
                                "\xf0\x9f\x98\x80 ", "\xd0\xbf\xd1\x80\xd0\xb8 "};
  std::string out;
  for (std::size_t i = 0; out.size() + 16 < size; ++i)
    out += pieces[i % 5];
  out.append(size - out.size(), 'x');
  return out;
}

void runParser(benchmark::State& state, const std::vector<uint8_t>& stream, uint64_t frames) {
  CountingSink sink;
  for (auto _ : state) {
    wsgate::ws::FrameParser parser;
    if (!parser.feed(stream, sink).ok()) state.SkipWithError("parse error");
  }
  benchmark::DoNotOptimize(sink.frames);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * frames));
}

void BM_Frame64KiBText_Ascii(benchmark::State& state) {
  std::vector<uint8_t> stream;
  appendFrame(stream, Opcode::Text, std::string(65536, 'a'));
  runParser(state, stream, 1);
}
BENCHMARK(BM_Frame64KiBText_Ascii);

void BM_Frame64KiBText_Mixed(benchmark::State& state) {
  std::vector<uint8_t> stream;
  appendFrame(stream, Opcode::Text, mixedText(65536));
  runParser(state, stream, 1);
}
BENCHMARK(BM_Frame64KiBText_Mixed);

void BM_Frame64ByteText(benchmark::State& state) {
  std::vector<uint8_t> stream;
  uint64_t frames = 0;
  while (stream.size() < 65536) {
    appendFrame(stream, Opcode::Text, std::string(64, 'm'));
    ++frames;
  }
  runParser(state, stream, frames);
}
BENCHMARK(BM_Frame64ByteText);

void BM_Frame64ByteBinary(benchmark::State& state) {
  std::vector<uint8_t> stream;
  uint64_t frames = 0;
  while (stream.size() < 65536) {
    appendFrame(stream, Opcode::Binary, std::string(64, '\x01'));
    ++frames;
  }
  runParser(state, stream, frames);
}
BENCHMARK(BM_Frame64ByteBinary);

} // namespace
