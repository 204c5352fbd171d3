#include "common/ws/mask.h"

#include <cstddef>
#include <cstdint>
#include <gtest/gtest.h>
#include <random>
#include <span>
#include <vector>

namespace wsgate::ws {
namespace {

using Bytes = std::vector<uint8_t>;

// The obvious byte-at-a-time definition from RFC 6455 section 5.3.
Bytes naiveUnmask(const Bytes& in, const MaskKey& key, std::size_t offset) {
  Bytes out(in.size());
  for (std::size_t i = 0; i < in.size(); ++i)
    out[i] = in[i] ^ key[(offset + i) % 4];
  return out;
}

Bytes randomBytes(std::mt19937& rng, std::size_t n) {
  Bytes b(n);
  for (uint8_t& x : b)
    x = static_cast<uint8_t>(rng());
  return b;
}

TEST(Mask, Rfc6455HelloExample) {
  // Section 5.7: a single-frame masked text message containing "Hello".
  const Bytes frame = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
  const MaskKey key = {frame[2], frame[3], frame[4], frame[5]};
  Bytes payload(frame.begin() + 6, frame.end());
  const Bytes hello = {'H', 'e', 'l', 'l', 'o'};

  Bytes copy(payload.size());
  EXPECT_EQ(unmaskCopy(payload, copy.data(), key, 0), 1u);
  EXPECT_EQ(copy, hello);
  EXPECT_EQ(payload, Bytes(frame.begin() + 6, frame.end())); // the input is left alone

  EXPECT_EQ(unmaskInPlace(payload, key, 0), 1u);
  EXPECT_EQ(payload, hello);
}

TEST(Mask, RfcExampleInPiecesCarriesTheOffset) {
  const MaskKey key = {0x37, 0xfa, 0x21, 0x3d};
  Bytes payload = {0x7f, 0x9f, 0x4d, 0x51, 0x58};
  std::span<uint8_t> all(payload);
  std::size_t offset = unmaskInPlace(all.first(3), key, 0);
  EXPECT_EQ(offset, 3u);
  offset = unmaskInPlace(all.subspan(3), key, offset);
  EXPECT_EQ(offset, 1u);
  EXPECT_EQ(payload, (Bytes{'H', 'e', 'l', 'l', 'o'}));
}

TEST(Mask, EmptyInputReturnsTheOffset) {
  const MaskKey key = {1, 2, 3, 4};
  for (std::size_t offset = 0; offset < 8; ++offset) {
    EXPECT_EQ(unmaskInPlace({}, key, offset), offset % 4);
    EXPECT_EQ(unmaskCopy({}, nullptr, key, offset), offset % 4);
  }
}

TEST(Mask, MatchesNaiveAtEveryLengthOffsetAndAlignment) {
  std::mt19937 rng(6455);
  for (std::size_t len = 0; len <= 200; ++len) {
    const Bytes data = randomBytes(rng, len);
    const MaskKey key = {static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng()),
                         static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng())};
    for (std::size_t offset = 0; offset < 4; ++offset) {
      const Bytes want = naiveUnmask(data, key, offset);
      // Place the data at every alignment so the byte-wise head takes 0..7 bytes.
      for (std::size_t shift = 0; shift < 8; ++shift) {
        Bytes buf(shift + len + 8, 0xEE);
        std::copy(data.begin(), data.end(), buf.begin() + static_cast<std::ptrdiff_t>(shift));
        const std::span<uint8_t> view(buf.data() + shift, len);
        EXPECT_EQ(unmaskInPlace(view, key, offset), (offset + len) % 4);
        ASSERT_TRUE(std::equal(view.begin(), view.end(), want.begin()))
            << "len " << len << " offset " << offset << " shift " << shift;
        // Bytes around the view are untouched.
        for (std::size_t i = 0; i < shift; ++i)
          ASSERT_EQ(buf[i], 0xEE);
        for (std::size_t i = shift + len; i < buf.size(); ++i)
          ASSERT_EQ(buf[i], 0xEE);

        Bytes out(shift + len + 8, 0xEE);
        EXPECT_EQ(unmaskCopy(data, out.data() + shift, key, offset), (offset + len) % 4);
        ASSERT_TRUE(std::equal(want.begin(), want.end(), out.begin() + shift))
            << "copy len " << len << " offset " << offset << " shift " << shift;
        for (std::size_t i = shift + len; i < out.size(); ++i)
          ASSERT_EQ(out[i], 0xEE);
      }
    }
  }
}

TEST(Mask, SplitAnywhereEqualsWhole) {
  std::mt19937 rng(1337);
  for (std::size_t len : {1u, 7u, 8u, 9u, 31u, 32u, 33u, 64u, 100u, 257u}) {
    const Bytes data = randomBytes(rng, len);
    const MaskKey key = {0xA5, 0x00, 0xFF, 0x3C};
    for (std::size_t offset = 0; offset < 4; ++offset) {
      const Bytes want = naiveUnmask(data, key, offset);
      for (std::size_t cut = 0; cut <= len; ++cut) {
        Bytes in_place = data;
        const std::span<uint8_t> all(in_place);
        std::size_t next = unmaskInPlace(all.first(cut), key, offset);
        EXPECT_EQ(next, (offset + cut) % 4);
        next = unmaskInPlace(all.subspan(cut), key, next);
        EXPECT_EQ(next, (offset + len) % 4);
        ASSERT_EQ(in_place, want) << "len " << len << " offset " << offset << " cut " << cut;

        Bytes copy(len);
        const std::span<const uint8_t> in(data);
        next = unmaskCopy(in.first(cut), copy.data(), key, offset);
        next = unmaskCopy(in.subspan(cut), copy.data() + cut, key, next);
        EXPECT_EQ(next, (offset + len) % 4);
        ASSERT_EQ(copy, want) << "copy len " << len << " offset " << offset << " cut " << cut;
      }
    }
  }
}

TEST(Mask, UnmaskTwiceRestoresLargeBuffer) {
  std::mt19937 rng(42);
  const Bytes data = randomBytes(rng, 1 << 16);
  const MaskKey key = {9, 8, 7, 6};
  Bytes buf = data;
  unmaskInPlace(buf, key, 2);
  EXPECT_EQ(buf, naiveUnmask(data, key, 2));
  unmaskInPlace(buf, key, 2);
  EXPECT_EQ(buf, data);
}

} // namespace
} // namespace wsgate::ws
