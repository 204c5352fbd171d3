// libFuzzer target for the permessage-deflate negotiation: the input is the client's
// Sec-WebSocket-Extensions, a newline, and the backend's. Invariants are checked with abort().
#include "common/ws/deflate_params.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wsgate::ws;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = input.find('\n');
  const std::string_view offer = input.substr(0, newline);
  const std::string_view response =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  std::vector<DeflateParams> offers;
  const std::string kept = keepDeflateOffers(offer, offers);
  if (kept.size() > offer.size() * 2 + 2) std::abort();
  // What was kept is only permessage-deflate and reads back to the same offers.
  std::vector<DeflateParams> again;
  if (keepDeflateOffers(kept, again) != kept || again.size() != offers.size()) std::abort();
  for (const DeflateParams& p : offers) {
    if (p.server_max_window_bits && (*p.server_max_window_bits < kMinWindowBits ||
                                     *p.server_max_window_bits > kMaxWindowBits)) {
      std::abort();
    }
  }
  const DeflateAnswer answer = checkDeflateAnswer(response, offers);
  if (answer.ok() != answer.reason.empty()) std::abort();
  if (answer.ok()) {
    if (offers.empty()) std::abort();
    for (const DeflateDirection& d : {answer.session.client, answer.session.server}) {
      if (d.window_bits < kMinWindowBits || d.window_bits > kMaxWindowBits) std::abort();
    }
  }
  return 0;
}
