#include "tests/bench/loadgen/deflate_payload.h"

#include <array>
#include <cstdio>
#include <stdexcept>
#include <string_view>
#include <zlib.h>

namespace wsgate::bench {

std::vector<uint8_t> makeJsonPayload(uint64_t size) {
  static constexpr std::array<std::string_view, 20> kWords{
      "alpha", "bravo", "charlie", "delta", "echo",   "foxtrot", "golf",
      "hotel", "india", "juliet",  "kilo",  "lima",   "mike",    "november",
      "oscar", "papa",  "quebec",  "romeo", "sierra", "tango"};
  std::vector<uint8_t> out;
  out.reserve(size + 128);
  uint64_t x = 1;
  while (out.size() < size) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const uint64_t r = x >> 33;
    char record[128];
    const int n = std::snprintf(
        record, sizeof record,
        "{\"id\":%llu,\"user\":\"%s\",\"price\":%llu.%02llu,\"tag\":\"%s\"},",
        static_cast<unsigned long long>(r % 1000000), kWords[(r >> 20) % kWords.size()].data(),
        static_cast<unsigned long long>((r >> 8) % 10000), static_cast<unsigned long long>(r % 100),
        kWords[(r >> 3) % kWords.size()].data());
    out.insert(out.end(), record, record + n);
  }
  out.resize(size);
  return out;
}

std::vector<uint8_t> deflateMessage(std::span<const uint8_t> message) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::vector<uint8_t> out(deflateBound(&z, message.size()) + 16);
  z.next_in = const_cast<Bytef*>(message.data());
  z.avail_in = static_cast<uInt>(message.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_SYNC_FLUSH);
  deflateEnd(&z);
  if (rc != Z_OK || z.avail_in != 0) throw std::runtime_error("deflate failed");
  out.resize(out.size() - z.avail_out - 4); // the sync flush's 00 00 ff ff
  return out;
}

} // namespace wsgate::bench
