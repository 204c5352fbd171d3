#include "common/ws/utf8.h"

#include <cstddef>
#include <cstdint>
#include <gtest/gtest.h>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace wsgate::ws {
namespace {

using Bytes = std::vector<uint8_t>;

// No byte makes feed() fail: the input is valid, or only truncated (finish() fails).
constexpr std::size_t kNoFail = static_cast<std::size_t>(-1);

// One test input. `fail_at` is the index of the first byte that proves the input invalid, that
// is the byte at which feeding one byte at a time first returns false.
struct Vector {
  std::string name;
  Bytes bytes;
  bool valid;
  std::size_t fail_at;
};

Vector good(std::string name, Bytes b) {
  return {std::move(name), std::move(b), true, kNoFail};
}
Vector truncated(std::string name, Bytes b) {
  return {std::move(name), std::move(b), false, kNoFail};
}
Vector bad(std::string name, Bytes b, std::size_t at) {
  return {std::move(name), std::move(b), false, at};
}

// Test vectors following the sections of Markus Kuhn's UTF-8 decoder stress test, judged by
// RFC 3629 (so the 5- and 6-byte forms of the old ISO 10646 are invalid at their lead byte).
std::vector<Vector> kuhnVectors() {
  std::vector<Vector> v;
  // 1: correct text.
  v.push_back(good("kosme", {0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5}));
  v.push_back(good("empty", {}));
  // 2.1: first possible sequence of each length.
  v.push_back(good("first 1 byte U+0000", {0x00}));
  v.push_back(good("first 2 bytes U+0080", {0xC2, 0x80}));
  v.push_back(good("first 3 bytes U+0800", {0xE0, 0xA0, 0x80}));
  v.push_back(good("first 4 bytes U+10000", {0xF0, 0x90, 0x80, 0x80}));
  v.push_back(bad("first 5 bytes", {0xF8, 0x88, 0x80, 0x80, 0x80}, 0));
  v.push_back(bad("first 6 bytes", {0xFC, 0x84, 0x80, 0x80, 0x80, 0x80}, 0));
  // 2.2: last possible sequence of each length.
  v.push_back(good("last 1 byte U+007F", {0x7F}));
  v.push_back(good("last 2 bytes U+07FF", {0xDF, 0xBF}));
  v.push_back(good("last 3 bytes U+FFFF", {0xEF, 0xBF, 0xBF}));
  v.push_back(bad("last 4 bytes U+1FFFFF", {0xF7, 0xBF, 0xBF, 0xBF}, 0));
  v.push_back(bad("last 5 bytes", {0xFB, 0xBF, 0xBF, 0xBF, 0xBF}, 0));
  v.push_back(bad("last 6 bytes", {0xFD, 0xBF, 0xBF, 0xBF, 0xBF, 0xBF}, 0));
  // 2.3: other boundary conditions.
  v.push_back(good("U+D7FF", {0xED, 0x9F, 0xBF}));
  v.push_back(good("U+E000", {0xEE, 0x80, 0x80}));
  v.push_back(good("U+FFFD", {0xEF, 0xBF, 0xBD}));
  v.push_back(good("U+10FFFF", {0xF4, 0x8F, 0xBF, 0xBF}));
  v.push_back(bad("U+110000", {0xF4, 0x90, 0x80, 0x80}, 1));
  v.push_back(bad("F4 90 alone", {0xF4, 0x90}, 1));
  v.push_back(bad("F5 lead", {0xF5, 0x80, 0x80, 0x80}, 0));
  // 3.1: unexpected continuation bytes.
  v.push_back(bad("first continuation 80", {0x80}, 0));
  v.push_back(bad("last continuation BF", {0xBF}, 0));
  v.push_back(bad("2 continuations", {0x80, 0xBF}, 0));
  v.push_back(bad("3 continuations", {0x80, 0xBF, 0x80}, 0));
  v.push_back(bad("7 continuations", {0x80, 0xBF, 0x80, 0xBF, 0x80, 0xBF, 0x80}, 0));
  v.push_back(bad("continuation after ASCII", {'a', 0x80}, 1));
  v.push_back(bad("extra continuation after 2 bytes", {0xC2, 0x80, 0x80}, 2));
  v.push_back(bad("extra continuation after 4 bytes", {0xF0, 0x90, 0x80, 0x80, 0x80}, 4));
  Bytes all_continuations;
  for (unsigned b = 0x80; b <= 0xBF; ++b)
    all_continuations.push_back(static_cast<uint8_t>(b));
  v.push_back(bad("all 64 continuation bytes", all_continuations, 0));
  // 3.3: sequences with the last continuation byte missing.
  v.push_back(bad("2 bytes U+0000 missing last", {0xC0}, 0));
  v.push_back(bad("3 bytes U+0000 missing last", {0xE0, 0x80}, 1));
  v.push_back(bad("4 bytes U+0000 missing last", {0xF0, 0x80, 0x80}, 1));
  v.push_back(bad("5 bytes U+0000 missing last", {0xF8, 0x80, 0x80, 0x80}, 0));
  v.push_back(bad("6 bytes U+0000 missing last", {0xFC, 0x80, 0x80, 0x80, 0x80}, 0));
  v.push_back(truncated("2 bytes U+07FF missing last", {0xDF}));
  v.push_back(truncated("3 bytes U+FFFF missing last", {0xEF, 0xBF}));
  v.push_back(bad("4 bytes U+1FFFFF missing last", {0xF7, 0xBF, 0xBF}, 0));
  v.push_back(truncated("2 bytes U+0080 missing last", {0xC2}));
  v.push_back(truncated("3 bytes U+0800 missing last", {0xE0, 0xA0}));
  v.push_back(truncated("3 bytes U+0800 missing two", {0xE0}));
  v.push_back(truncated("4 bytes U+10000 missing last", {0xF0, 0x90, 0x80}));
  v.push_back(truncated("4 bytes U+10FFFF missing last", {0xF4, 0x8F, 0xBF}));
  v.push_back(truncated("4 bytes missing two", {0xF3, 0xBF}));
  v.push_back(truncated("ASCII then 4 bytes missing three", {'a', 'b', 'c', 0xF1}));
  v.push_back(
      truncated("kosme then 3 bytes missing last",
                {0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xE1, 0xBD}));
  // 3.4: concatenation of incomplete sequences.
  v.push_back(bad("Kuhn 3.4 concatenation",
                  {0xC0, 0xE0, 0x80, 0xF0, 0x80, 0x80, 0xF8, 0x88, 0x80, 0x80,
                   0xFC, 0x80, 0x80, 0x80, 0x80, 0xDF, 0xEF, 0xBF, 0xF7, 0xBF,
                   0xBF, 0xFB, 0xBF, 0xBF, 0xBF, 0xFD, 0xBF, 0xBF, 0xBF, 0xBF},
                  0));
  v.push_back(bad("incomplete 2 then 3 bytes", {0xDF, 0xEF, 0xBF}, 1));
  v.push_back(bad("incomplete 3 then 2 bytes", {0xEF, 0xBF, 0xDF, 0xBF}, 2));
  v.push_back(bad("incomplete 4 then ASCII", {0xF0, 0x90, 0x80, 'x'}, 3));
  v.push_back(bad("incomplete 2 then space", {0xC2, ' ', 0xC2, 0x80}, 1));
  // 3.5: impossible bytes.
  v.push_back(bad("FE", {0xFE}, 0));
  v.push_back(bad("FF", {0xFF}, 0));
  v.push_back(bad("FE FE FF FF", {0xFE, 0xFE, 0xFF, 0xFF}, 0));
  v.push_back(bad("ASCII then FF", {'o', 'k', 0xFF}, 2));
  // 4.1: overlong ASCII "/".
  v.push_back(bad("overlong / 2 bytes", {0xC0, 0xAF}, 0));
  v.push_back(bad("overlong / 3 bytes", {0xE0, 0x80, 0xAF}, 1));
  v.push_back(bad("overlong / 4 bytes", {0xF0, 0x80, 0x80, 0xAF}, 1));
  v.push_back(bad("overlong / 5 bytes", {0xF8, 0x80, 0x80, 0x80, 0xAF}, 0));
  v.push_back(bad("overlong / 6 bytes", {0xFC, 0x80, 0x80, 0x80, 0x80, 0xAF}, 0));
  // 4.2: maximum overlong sequences.
  v.push_back(bad("max overlong 2 bytes U+007F", {0xC1, 0xBF}, 0));
  v.push_back(bad("max overlong 3 bytes U+07FF", {0xE0, 0x9F, 0xBF}, 1));
  v.push_back(bad("max overlong 4 bytes U+FFFF", {0xF0, 0x8F, 0xBF, 0xBF}, 1));
  v.push_back(bad("max overlong 5 bytes", {0xF8, 0x87, 0xBF, 0xBF, 0xBF}, 0));
  v.push_back(bad("max overlong 6 bytes", {0xFC, 0x83, 0xBF, 0xBF, 0xBF, 0xBF}, 0));
  // 4.3: overlong NUL.
  v.push_back(bad("overlong NUL 2 bytes", {0xC0, 0x80}, 0));
  v.push_back(bad("overlong NUL 3 bytes", {0xE0, 0x80, 0x80}, 1));
  v.push_back(bad("overlong NUL 4 bytes", {0xF0, 0x80, 0x80, 0x80}, 1));
  v.push_back(bad("overlong NUL 5 bytes", {0xF8, 0x80, 0x80, 0x80, 0x80}, 0));
  v.push_back(bad("overlong NUL 6 bytes", {0xFC, 0x80, 0x80, 0x80, 0x80, 0x80}, 0));
  v.push_back(bad("E0 80 alone", {0xE0, 0x80}, 1));
  // 5.1: single UTF-16 surrogates.
  v.push_back(bad("U+D800", {0xED, 0xA0, 0x80}, 1));
  v.push_back(bad("U+DB7F", {0xED, 0xAD, 0xBF}, 1));
  v.push_back(bad("U+DB80", {0xED, 0xAE, 0x80}, 1));
  v.push_back(bad("U+DBFF", {0xED, 0xAF, 0xBF}, 1));
  v.push_back(bad("U+DC00", {0xED, 0xB0, 0x80}, 1));
  v.push_back(bad("U+DF80", {0xED, 0xBE, 0x80}, 1));
  v.push_back(bad("U+DFFF", {0xED, 0xBF, 0xBF}, 1));
  v.push_back(bad("ED A0 alone", {0xED, 0xA0}, 1));
  // 5.2: paired UTF-16 surrogates (CESU-8).
  v.push_back(bad("U+D800 U+DC00", {0xED, 0xA0, 0x80, 0xED, 0xB0, 0x80}, 1));
  v.push_back(bad("U+D800 U+DFFF", {0xED, 0xA0, 0x80, 0xED, 0xBF, 0xBF}, 1));
  v.push_back(bad("U+DB7F U+DC00", {0xED, 0xAD, 0xBF, 0xED, 0xB0, 0x80}, 1));
  v.push_back(bad("U+DBFF U+DFFF", {0xED, 0xAF, 0xBF, 0xED, 0xBF, 0xBF}, 1));
  // 5.3: noncharacters are valid UTF-8.
  v.push_back(good("U+FFFE", {0xEF, 0xBF, 0xBE}));
  v.push_back(good("U+FFFF", {0xEF, 0xBF, 0xBF}));
  v.push_back(good("U+FDD0", {0xEF, 0xB7, 0x90}));
  v.push_back(good("U+FDEF", {0xEF, 0xB7, 0xAF}));
  v.push_back(good("U+1FFFE", {0xF0, 0x9F, 0xBF, 0xBE}));
  v.push_back(good("U+10FFFE", {0xF4, 0x8F, 0xBF, 0xBE}));
  // Each lead byte class at the edges of its range.
  v.push_back(good("E1 lead", {0xE1, 0x80, 0x80}));
  v.push_back(good("EC lead", {0xEC, 0xBF, 0xBF}));
  v.push_back(good("EE lead", {0xEE, 0xBF, 0xBF}));
  v.push_back(good("F1 lead", {0xF1, 0x80, 0x80, 0x80}));
  v.push_back(good("F3 lead", {0xF3, 0xBF, 0xBF, 0xBF}));
  v.push_back(bad("E1 then ASCII", {0xE1, 0x80, 0x41}, 2));
  v.push_back(bad("F1 then C0", {0xF1, 0x80, 0xC0, 0x80}, 2));
  v.push_back(bad("F0 C0", {0xF0, 0xC0}, 1));
  v.push_back(bad("F4 C0", {0xF4, 0xC0}, 1));
  return v;
}

// 3.2: every start byte of a 2-, 3- and 4-byte sequence (and the old 5- and 6-byte ones)
// followed by a space. C0, C1 and F5..FD fail at once; the others fail at the space.
std::vector<Vector> loneStartVectors() {
  std::vector<Vector> v;
  for (unsigned b = 0xC0; b <= 0xFD; ++b) {
    const bool never_valid = b < 0xC2 || b > 0xF4;
    v.push_back(bad("lone start " + std::to_string(b) + " then space",
                    {static_cast<uint8_t>(b), 0x20}, never_valid ? 0 : 1));
  }
  return v;
}

std::vector<Vector> allVectors() {
  std::vector<Vector> v = kuhnVectors();
  for (Vector& lone : loneStartVectors())
    v.push_back(std::move(lone));
  return v;
}

// Checks the validator's state after all of `vec` was fed; `fed_ok` says whether every feed()
// call returned true.
void expectVerdict(const Vector& vec, Utf8Validator& v, bool fed_ok) {
  EXPECT_EQ(fed_ok, vec.fail_at == kNoFail) << vec.name;
  EXPECT_EQ(v.failed(), vec.fail_at != kNoFail) << vec.name;
  EXPECT_EQ(v.finish(), vec.valid) << vec.name;
}

void checkWhole(const Vector& vec) {
  Utf8Validator v;
  const bool ok = v.feed(vec.bytes);
  expectVerdict(vec, v, ok);
  EXPECT_EQ(Utf8Validator::validate(vec.bytes), vec.valid) << vec.name;
}

void checkByteByByte(const Vector& vec) {
  Utf8Validator v;
  std::size_t first_false = kNoFail;
  for (std::size_t i = 0; i < vec.bytes.size(); ++i) {
    const bool ok = v.feed(std::span(vec.bytes).subspan(i, 1));
    if (!ok && first_false == kNoFail) first_false = i;
    // Once failed, every later byte fails too.
    if (first_false != kNoFail) {
      EXPECT_FALSE(ok) << vec.name << " byte " << i;
    }
  }
  EXPECT_EQ(first_false, vec.fail_at) << vec.name;
  expectVerdict(vec, v, first_false == kNoFail);
}

void checkSplits(const Vector& vec) {
  const std::span<const uint8_t> all(vec.bytes);
  for (std::size_t cut = 0; cut <= all.size(); ++cut) {
    Utf8Validator v;
    const bool first = v.feed(all.first(cut));
    // The first part fails exactly when it contains the failing byte.
    EXPECT_EQ(first, vec.fail_at == kNoFail || vec.fail_at >= cut) << vec.name << " cut " << cut;
    const bool second = v.feed(all.subspan(cut));
    expectVerdict(vec, v, first && second);
  }
}

void checkAllWays(const Vector& vec) {
  checkWhole(vec);
  checkByteByByte(vec);
  checkSplits(vec);
}

// The same vector behind `pad` ASCII bytes; a valid one also gets ASCII after it. Long
// enough pads send the bytes through the word-at-a-time and whole-sequence fast paths.
Vector padded(const Vector& vec, std::size_t pad) {
  Vector out = vec;
  out.name += " padded " + std::to_string(pad);
  out.bytes.assign(pad, 'p');
  out.bytes.insert(out.bytes.end(), vec.bytes.begin(), vec.bytes.end());
  if (vec.valid) out.bytes.insert(out.bytes.end(), pad, 's');
  if (vec.fail_at != kNoFail) out.fail_at += pad;
  return out;
}

TEST(Utf8Validator, KuhnVectorsWholeByteByByteAndSplit) {
  for (const Vector& vec : allVectors())
    checkAllWays(vec);
}

TEST(Utf8Validator, KuhnVectorsBehindAsciiPadding) {
  for (const Vector& vec : allVectors()) {
    for (std::size_t pad : {1, 3, 4, 7, 15, 16, 17, 31, 32, 33, 47, 64}) {
      checkAllWays(padded(vec, pad));
    }
  }
}

TEST(Utf8Validator, KuhnVectorsAfterMultiByteText) {
  // A valid prefix of multi-byte code points ahead of each vector: the fast path meets the
  // vector right after a sequence rather than after ASCII.
  const Bytes prefix = {0xD0, 0x96, 0xE4, 0xB8, 0x96, 0xF0, 0x9F, 0x98, 0x80, 0xCE,
                        0xBB, 0xE2, 0x82, 0xAC, 0xC3, 0xA9, 0xF0, 0x90, 0x80, 0x80};
  for (const Vector& vec : allVectors()) {
    Vector out = vec;
    out.name += " after text";
    out.bytes = prefix;
    out.bytes.insert(out.bytes.end(), vec.bytes.begin(), vec.bytes.end());
    if (vec.valid) out.bytes.insert(out.bytes.end(), prefix.begin(), prefix.end());
    if (vec.fail_at != kNoFail) out.fail_at += prefix.size();
    checkAllWays(out);
  }
}

TEST(Utf8Validator, FailureIsStickyUntilReset) {
  Utf8Validator v;
  const uint8_t bad_byte[] = {0xFF};
  const uint8_t ascii[] = {'o', 'k'};
  EXPECT_FALSE(v.feed(bad_byte));
  EXPECT_TRUE(v.failed());
  EXPECT_FALSE(v.feed(ascii));
  EXPECT_FALSE(v.feed({}));
  EXPECT_FALSE(v.finish());
  v.reset();
  EXPECT_FALSE(v.failed());
  EXPECT_TRUE(v.feed(ascii));
  EXPECT_TRUE(v.finish());
}

TEST(Utf8Validator, TruncatedSequenceCompletesInLaterCalls) {
  Utf8Validator v;
  const uint8_t part1[] = {'a', 0xF0};
  const uint8_t part2[] = {0x9F};
  const uint8_t part3[] = {0x98, 0x80, 'b'};
  EXPECT_TRUE(v.feed(part1));
  EXPECT_FALSE(v.finish());
  EXPECT_TRUE(v.feed({}));
  EXPECT_TRUE(v.feed(part2));
  EXPECT_FALSE(v.finish());
  EXPECT_FALSE(v.failed());
  EXPECT_TRUE(v.feed(part3));
  EXPECT_TRUE(v.finish());
}

// An independent, deliberately plain reference: the index of the first byte that no valid
// UTF-8 string can continue with (Unicode table 3-7), or kNoFail; `complete` says whether
// the input ends between code points.
std::size_t referenceFailAt(const Bytes& b, bool& complete) {
  std::size_t i = 0;
  complete = true;
  while (i < b.size()) {
    const uint8_t c = b[i];
    std::size_t len = 0;
    uint8_t lo = 0x80;
    uint8_t hi = 0xBF;
    if (c <= 0x7F) {
      len = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      lo = c == 0xE0 ? 0xA0 : 0x80;
      hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      lo = c == 0xF0 ? 0x90 : 0x80;
      hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
      return i;
    }
    for (std::size_t k = 1; k < len; ++k) {
      if (i + k >= b.size()) {
        complete = false;
        return kNoFail;
      }
      const uint8_t min = k == 1 ? lo : 0x80;
      const uint8_t max = k == 1 ? hi : 0xBF;
      if (b[i + k] < min || b[i + k] > max) return i + k;
    }
    i += len;
  }
  return kNoFail;
}

// Random inputs built from fragments of valid and invalid sequences, checked against the
// reference whole, byte by byte and at every split.
TEST(Utf8Validator, RandomInputsMatchReference) {
  const std::vector<Bytes> pieces = {{'a'},
                                     {' '},
                                     {0x7F},
                                     {0xC2, 0x80},
                                     {0xDF, 0xBF},
                                     {0xD0, 0x96},
                                     {0xE0, 0xA0, 0x80},
                                     {0xED, 0x9F, 0xBF},
                                     {0xEF, 0xBF, 0xBF},
                                     {0xE4, 0xB8, 0x96},
                                     {0xF0, 0x90, 0x80, 0x80},
                                     {0xF4, 0x8F, 0xBF, 0xBF},
                                     {0xF0, 0x9F, 0x98, 0x80},
                                     {0x80},
                                     {0xBF},
                                     {0xC0},
                                     {0xC1},
                                     {0xE0},
                                     {0xED},
                                     {0xF0},
                                     {0xF4},
                                     {0xF5},
                                     {0xFF},
                                     {0xA0},
                                     {0x90},
                                     {0x8F},
                                     {0x9F},
                                     {'x', 'y', 'z', 'w'}};
  std::mt19937 rng(20240611);
  for (int round = 0; round < 4000; ++round) {
    Bytes input;
    const int count = static_cast<int>(rng() % (round % 4 == 0 ? 160 : 40));
    // Mostly valid pieces, so failures land deep into the input and in the fast paths.
    for (int k = 0; k < count; ++k) {
      const std::size_t pick = rng() % 8 == 0 ? rng() % pieces.size() : rng() % 13;
      input.insert(input.end(), pieces[pick].begin(), pieces[pick].end());
    }
    bool complete = false;
    const std::size_t fail_at = referenceFailAt(input, complete);
    const Vector vec{"random " + std::to_string(round), input, fail_at == kNoFail && complete,
                     fail_at};
    checkAllWays(vec);
    if (::testing::Test::HasFailure()) break;
  }
}

// Fills `out` with two-byte code points (and one ASCII byte when `n` is odd), so the
// validator stays in its multi-byte block mode across the bytes that follow.
void appendTwoByteText(Bytes& out, std::size_t n) {
  if (n % 2 == 1) out.push_back('a');
  for (std::size_t i = 0; i < n / 2; ++i)
    out.insert(out.end(), {0xC3, 0xA9});
}

// Every lead byte followed by three bytes from the edges of every class, placed at each
// position around a 16-byte block boundary inside multi-byte text, against the reference.
TEST(Utf8Validator, FourByteWindowsInsideTextMatchReference) {
  const uint8_t edges[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F,
                           0xA0, 0xBF, 0xC0, 0xC2, 0xE0, 0xF0, 0xFF};
  // One buffer per position; only the four bytes under test change from input to input.
  std::vector<Bytes> inputs;
  for (std::size_t at = 24; at < 44; ++at) {
    Bytes input;
    appendTwoByteText(input, at);
    input.insert(input.end(), 4, 'x');
    appendTwoByteText(input, 40);
    inputs.push_back(std::move(input));
  }
  std::size_t checked = 0;
  for (unsigned b0 = 0; b0 < 256; ++b0) {
    for (uint8_t b1 : edges) {
      for (uint8_t b2 : edges) {
        for (uint8_t b3 : edges) {
          Bytes& input = inputs[checked++ % inputs.size()];
          const std::size_t at = 24 + (checked - 1) % inputs.size();
          input[at] = static_cast<uint8_t>(b0);
          input[at + 1] = b1;
          input[at + 2] = b2;
          input[at + 3] = b3;
          bool complete = false;
          const bool want = referenceFailAt(input, complete) == kNoFail && complete;
          if (Utf8Validator::validate(input) != want) {
            ADD_FAILURE() << "expected " << want << " for " << std::hex << b0 << ' ' << +b1 << ' '
                          << +b2 << ' ' << +b3 << std::dec << " at " << at;
            return;
          }
        }
      }
    }
  }
}

// Long valid text with one byte replaced, whole and at a few splits, against the reference.
TEST(Utf8Validator, MutatedLongTextMatchesReference) {
  const Bytes text = [] {
    const Bytes words[] = {{'a', 'b', 'c', ' '},
                           {0xD0, 0x96, 0xD0, 0xB8, ' '},
                           {0xE4, 0xB8, 0x96, 0xE7, 0x95, 0x8C},
                           {0xF0, 0x9F, 0x98, 0x80},
                           {0xEF, 0xBF, 0xBF, 0xF4, 0x8F, 0xBF, 0xBF}};
    std::mt19937 rng(99);
    Bytes out;
    while (out.size() < 300) {
      const Bytes& w = words[rng() % 5];
      out.insert(out.end(), w.begin(), w.end());
    }
    return out;
  }();
  ASSERT_TRUE(Utf8Validator::validate(text));
  std::mt19937 rng(12345);
  for (int round = 0; round < 20000; ++round) {
    Bytes input = text;
    const std::size_t at = rng() % input.size();
    input[at] = static_cast<uint8_t>(rng());
    input.resize(at + 1 + rng() % (input.size() - at));
    bool complete = false;
    const std::size_t fail_at = referenceFailAt(input, complete);
    const bool want = fail_at == kNoFail && complete;
    ASSERT_EQ(Utf8Validator::validate(input), want) << "round " << round;
    const std::size_t cut = rng() % (input.size() + 1);
    Utf8Validator v;
    const bool first = v.feed(std::span(input).first(cut));
    ASSERT_EQ(first, fail_at == kNoFail || fail_at >= cut) << "round " << round;
    v.feed(std::span(input).subspan(cut));
    ASSERT_EQ(v.finish(), want) << "round " << round;
    ASSERT_EQ(v.failed(), fail_at != kNoFail) << "round " << round;
  }
}

TEST(Utf8Validator, LongMixedTextAtEverySplit) {
  Bytes text;
  const Bytes words[] = {
      {'h', 'e', 'l', 'l', 'o', ' '},
      {0xD0, 0xBF, 0xD1, 0x80, 0xD0, 0xB8, 0xD0, 0xB2, 0xD0, 0xB5, 0xD1, 0x82, ' '},
      {0xE4, 0xB8, 0x96, 0xE7, 0x95, 0x8C, ' '},
      {0xF0, 0x9F, 0x98, 0x80, 0xF0, 0x9F, 0x8C, 0x8D, ' '},
      {0xCE, 0xBA, 0xCF, 0x8C, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, ' '}};
  for (int i = 0; i < 40; ++i) {
    const Bytes& w = words[(i * 7 + i / 3) % 5];
    text.insert(text.end(), w.begin(), w.end());
  }
  checkAllWays(good("long mixed text", text));
  // A surrogate planted at any code point boundary fails exactly at its second byte.
  for (std::size_t at = 0; at < text.size(); ++at) {
    if ((text[at] & 0xC0) == 0x80) continue;
    Bytes broken(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at));
    broken.insert(broken.end(), {0xED, 0xA0, 0x80});
    checkAllWays(bad("surrogate at " + std::to_string(at), broken, at + 1));
  }
}

} // namespace
} // namespace wsgate::ws
