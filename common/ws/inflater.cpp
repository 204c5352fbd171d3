#include "common/ws/inflater.h"

#include <algorithm>
#include <array>
#include <zlib.h>

namespace wsgate::ws {

namespace {

// The output block: one per thread, filled and handed to the sink within one feed().
constexpr std::size_t kBlock = std::size_t{16} * 1024;
thread_local std::array<uint8_t, kBlock> tInflated;

constexpr std::array<uint8_t, 4> kTail{0x00, 0x00, 0xff, 0xff};

// zlib's raw inflate takes windowBits 8..15, but its deflate has refused a raw window of 256
// bytes since 1.2.9 and peers built on it (Node's zlib among them) compress with 512 instead
// when 8 is negotiated. A larger window inflates everything a smaller one does.
int inflateWindowBits(uint8_t negotiated) {
  return std::clamp<int>(negotiated, 9, kMaxWindowBits);
}

} // namespace

void MessageInflater::StreamDeleter::operator()(z_stream_s* stream) const {
  inflateEnd(stream);
  delete stream;
}

MessageInflater::~MessageInflater() = default;

void MessageInflater::release() {
  stream_.reset();
}

bool MessageInflater::ensureStream() {
  if (stream_) return true;
  auto stream = std::make_unique<z_stream>();
  if (inflateInit2(stream.get(), -inflateWindowBits(params_.window_bits)) != Z_OK) return false;
  stream_.reset(stream.release());
  return true;
}

InflateResult MessageInflater::feed(std::span<const uint8_t> compressed, InflateSink& sink) {
  if (compressed.empty()) return InflateResult::Ok;
  if (!ensureStream()) return InflateResult::Corrupt;
  z_stream& z = *stream_;
  z.next_in = const_cast<Bytef*>(compressed.data());
  z.avail_in = static_cast<uInt>(compressed.size());
  for (;;) {
    z.next_out = tInflated.data();
    z.avail_out = static_cast<uInt>(tInflated.size());
    const int rc = inflate(&z, Z_SYNC_FLUSH);
    const std::size_t produced = tInflated.size() - z.avail_out;
    if (produced > 0 && !sink.onInflated(std::span<const uint8_t>(tInflated.data(), produced))) {
      return InflateResult::Stopped;
    }
    if (rc == Z_STREAM_END) {
      // A final block (BFINAL) ended the DEFLATE stream; what follows starts a new one.
      if (inflateReset(&z) != Z_OK) return InflateResult::Corrupt;
    } else if (rc == Z_BUF_ERROR) {
      // No progress possible: all input is consumed and all output delivered.
      if (z.avail_in == 0) return InflateResult::Ok;
      if (z.avail_out != 0) return InflateResult::Corrupt;
    } else if (rc != Z_OK) {
      return InflateResult::Corrupt;
    }
    if (z.avail_in == 0 && z.avail_out != 0) return InflateResult::Ok;
  }
}

InflateResult MessageInflater::endMessage(InflateSink& sink) {
  const InflateResult result = feed(kTail, sink);
  if (params_.no_context_takeover || result != InflateResult::Ok) release();
  return result;
}

} // namespace wsgate::ws
