#include "common/ws/handshake.h"

#include <array>
#include <cstdint>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

namespace wsgate::ws {

namespace {

bool isBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

std::string base64(const uint8_t* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3), '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

} // namespace

MaskKey randomMaskKey() {
  MaskKey key{};
  RAND_bytes(key.data(), static_cast<int>(key.size()));
  return key;
}

bool isValidKey(std::string_view key) {
  // 16 bytes encode to 22 significant characters and "==". The 22nd character carries only
  // 2 bits of data, so its low 4 bits must be zero (one of "AQgw").
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  for (std::size_t i = 0; i < 22; ++i) {
    if (!isBase64Char(key[i])) return false;
  }
  const char last = key[21];
  return last == 'A' || last == 'Q' || last == 'g' || last == 'w';
}

std::string computeAccept(std::string_view key) {
  std::string input;
  input.reserve(key.size() + kAcceptGuid.size());
  input.append(key);
  input.append(kAcceptGuid);
  // Fetched once: SHA1() would look the algorithm up again on every call. A fetched EVP_MD is
  // immutable and may be shared by every thread.
  static EVP_MD* const kSha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  std::array<uint8_t, SHA_DIGEST_LENGTH> digest{};
  unsigned int length = 0;
  EVP_Digest(input.data(), input.size(), digest.data(), &length, kSha1, nullptr);
  return base64(digest.data(), length);
}

std::string generateKey() {
  std::array<uint8_t, 16> nonce{};
  RAND_bytes(nonce.data(), static_cast<int>(nonce.size()));
  return base64(nonce.data(), nonce.size());
}

} // namespace wsgate::ws
