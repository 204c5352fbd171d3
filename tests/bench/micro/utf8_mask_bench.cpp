// Throughput of the per-byte hot paths: UTF-8 validation of text messages and unmasking of
// client payloads, over 64 KiB buffers (they stay in L2, as a read buffer would).
#include "common/ws/mask.h"
#include "common/ws/utf8.h"

#include <benchmark/benchmark.h>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string_view>
#include <vector>

namespace {

constexpr std::size_t kBufferSize = 64 * 1024;

std::vector<uint8_t> asciiText() {
  constexpr std::string_view kLine = "The quick brown fox jumps over the lazy dog; 0123456789.\n";
  std::vector<uint8_t> out;
  while (out.size() < kBufferSize)
    out.push_back(static_cast<uint8_t>(kLine[out.size() % kLine.size()]));
  return out;
}

// Words from several scripts in a pseudo-random order, so the mix of 1-, 2-, 3- and 4-byte
// code points does not repeat with a short period. Cut at a code point boundary.
std::vector<uint8_t> mixedText() {
  constexpr std::string_view kWords[] = {"hello",
                                         "world",
                                         "proxy",
                                         "frame",
                                         "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",
                                         "\xd0\xbc\xd0\xb8\xd1\x80",
                                         "\xce\xba\xcf\x8c\xcf\x83\xce\xbc\xce\xb5",
                                         "\xce\xb1\xce\xbb\xcf\x86\xce\xb1",
                                         "\xe4\xb8\x96\xe7\x95\x8c",
                                         "\xe4\xbd\xa0\xe5\xa5\xbd\xe5\x90\x97",
                                         "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
                                         "\xf0\x9f\x98\x80",
                                         "\xf0\x9f\x9a\x80\xf0\x9f\x8c\x8d",
                                         "caf\xc3\xa9",
                                         "\xe2\x82\xac"
                                         "42",
                                         "na\xc3\xafve"};
  std::mt19937 rng(7);
  std::vector<uint8_t> out;
  for (;;) {
    const std::string_view w = kWords[rng() % std::size(kWords)];
    if (out.size() + w.size() + 1 > kBufferSize) break;
    out.insert(out.end(), w.begin(), w.end());
    out.push_back(' ');
  }
  while (out.size() < kBufferSize)
    out.push_back('.');
  return out;
}

void validateBench(benchmark::State& state, const std::vector<uint8_t>& text) {
  if (!wsgate::ws::Utf8Validator::validate(text)) {
    state.SkipWithError("benchmark text is not valid UTF-8");
    return;
  }
  for (auto _ : state) {
    wsgate::ws::Utf8Validator v;
    bool ok = v.feed(text);
    benchmark::DoNotOptimize(ok);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
}

void BM_Utf8ValidateAscii(benchmark::State& state) {
  const std::vector<uint8_t> text = asciiText();
  validateBench(state, text);
}
BENCHMARK(BM_Utf8ValidateAscii);

void BM_Utf8ValidateMixed(benchmark::State& state) {
  const std::vector<uint8_t> text = mixedText();
  validateBench(state, text);
}
BENCHMARK(BM_Utf8ValidateMixed);

void BM_MaskUnmaskInPlace(benchmark::State& state) {
  std::vector<uint8_t> data(kBufferSize);
  std::mt19937 rng(3);
  for (uint8_t& b : data)
    b = static_cast<uint8_t>(rng());
  const wsgate::ws::MaskKey key = {0x37, 0xfa, 0x21, 0x3d};
  std::size_t offset = 0;
  for (auto _ : state) {
    // An odd offset each round keeps the rotated-key path honest.
    offset = wsgate::ws::unmaskInPlace(data, key, offset + 1);
    benchmark::DoNotOptimize(data.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(data.size()));
}
BENCHMARK(BM_MaskUnmaskInPlace);

void BM_MaskUnmaskCopy(benchmark::State& state) {
  std::vector<uint8_t> in(kBufferSize);
  std::vector<uint8_t> out(kBufferSize);
  std::mt19937 rng(4);
  for (uint8_t& b : in)
    b = static_cast<uint8_t>(rng());
  const wsgate::ws::MaskKey key = {0x37, 0xfa, 0x21, 0x3d};
  for (auto _ : state) {
    benchmark::DoNotOptimize(wsgate::ws::unmaskCopy(in, out.data(), key, 1));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(in.size()));
}
BENCHMARK(BM_MaskUnmaskCopy);

} // namespace
