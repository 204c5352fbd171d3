// Fuzzes the upgrade without I/O (common/ws/upgrade.h) behind the head parsers, the way a session
// runs it: request -> checkUpgradeRequest -> buildBackendRequest, then response ->
// checkUpgradeResponse -> buildClientResponse.
//
// Input: one byte of options, then a request head, then (whatever follows the request head) a
// response head. Beyond "no crash" it checks what the proxy relies on: the outcome does not
// depend on where the input is split; a refusal has a status and a reason; the request wsgate
// forwards and the 101 it sends are valid heads again (the forwarded one a valid upgrade with the
// same key and target, the 101 one that passes the same switching checks); an accepted 101 chose
// only what was offered.
#include "common/http/headers.h"
#include "common/http/parser.h"
#include "common/ws/handshake.h"
#include "common/ws/upgrade.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace wsgate;

void check(bool ok) {
  if (!ok) std::abort();
}

std::span<const uint8_t> bytesOf(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// Feeds `input` in two chunks split at `cut`; the parse status and the head's size.
template <typename Parser>
http::ParseStatus feed(Parser& parser, std::span<const uint8_t> input, std::size_t cut,
                       std::size_t& head) {
  cut = std::min(cut, input.size());
  http::ParseResult r = parser.feed(input.first(cut));
  head = r.consumed;
  if (r.status == http::ParseStatus::NeedMore) {
    r = parser.feed(input.subspan(cut));
    head = cut + r.consumed;
  }
  return r.status;
}

// What one run decided, compared across splits.
struct Run {
  http::ParseStatus status = http::ParseStatus::NeedMore;
  std::size_t head = 0;
  int refusal = 0;
  std::string reason;
  std::string built;
  ws::UpgradeOffer offer;
  bool operator==(const Run& o) const {
    return status == o.status && head == o.head && refusal == o.refusal && reason == o.reason &&
           built == o.built && offer.key == o.offer.key && offer.protocols == o.offer.protocols &&
           offer.deflate_offers.size() == o.offer.deflate_offers.size();
  }
};

// The forwarded request parses back into a valid upgrade with the same key and target.
void checkForwarded(const std::string& head, const ws::UpgradeRequest& up,
                    const ws::ForwardOptions& options, bool connection_lists_fields) {
  http::RequestParser parser(http::Limits{SIZE_MAX, SIZE_MAX, SIZE_MAX});
  const http::ParseResult r = parser.feed(bytesOf(head));
  check(r.status == http::ParseStatus::Done && r.consumed == head.size());
  const http::Request& forwarded = parser.request();
  check(forwarded.method == "GET" && forwarded.target == options.target);
  check(forwarded.headers.count("upgrade") == 1 && forwarded.headers.count("connection") == 1);
  check(forwarded.headers.getAll("x-forwarded-host") == up.host);
  check(forwarded.headers.count("x-forwarded-for") == 1);
  check(forwarded.headers.get("x-forwarded-for")->ends_with(options.client_ip));
  if (connection_lists_fields) return; // the client may have named Host or the key hop-by-hop
  const ws::RequestCheck again = ws::checkUpgradeRequest(forwarded);
  check(again.ok());
  check(again.upgrade.key == up.key && again.upgrade.host == up.host);
  check(again.upgrade.target == up.target);
}

Run runRequest(std::span<const uint8_t> input, std::size_t cut, uint8_t flags) {
  Run run;
  http::RequestParser parser;
  run.status = feed(parser, input, cut, run.head);
  if (run.status != http::ParseStatus::Done) return run;
  const http::Request& request = parser.request();
  const ws::RequestCheck checked = ws::checkUpgradeRequest(request);
  if (!checked.ok()) {
    check(checked.refusal.status == 400 || checked.refusal.status == 405 ||
          checked.refusal.status == 426);
    check(!checked.refusal.reason.empty());
    run.refusal = checked.refusal.status;
    run.reason = checked.refusal.reason;
    return run;
  }
  const ws::UpgradeRequest& up = checked.upgrade;
  check(ws::isValidKey(up.key) && up.path.starts_with('/') && up.target.starts_with(up.path));
  const http::Header claims[] = {{"X-Claim", "a b"}};
  const std::string drop[] = {"x-claim", "cookie"};
  std::vector<std::string> protocols = up.protocols;
  if (!protocols.empty()) protocols.pop_back();
  const ws::ForwardOptions options{
      .target = up.target,
      .client_ip = "192.0.2.1",
      .tls = (flags & 1) != 0,
      .forward_deflate = (flags & 2) != 0,
      .add_headers = (flags & 4) != 0 ? std::span<const http::Header>(claims)
                                      : std::span<const http::Header>(),
      .drop_headers =
          (flags & 4) != 0 ? std::span<const std::string>(drop) : std::span<const std::string>(),
      .protocols = (flags & 8) != 0 ? &protocols : nullptr,
  };
  ws::BackendRequest built = ws::buildBackendRequest(request, up, options);
  check(built.offer.key == up.key);
  check(built.offer.protocols == ((flags & 8) != 0 ? protocols : up.protocols));
  check(built.offer.deflate_offers.size() == ((flags & 2) != 0 ? up.deflate_offers.size() : 0));
  const auto connection = request.headers.getAll("connection");
  checkForwarded(built.head, up, options, connection && connection->find(',') != std::string::npos);
  run.built = std::move(built.head);
  run.offer = std::move(built.offer);
  return run;
}

// A fixed offer for responses that follow an invalid request, so the 101 checks still run.
ws::UpgradeOffer fallbackOffer() {
  ws::UpgradeOffer offer{"dGhlIHNhbXBsZSBub25jZQ==", {"chat", "v2"}, {}};
  ws::keepDeflateOffers("permessage-deflate; client_max_window_bits, permessage-deflate",
                        offer.deflate_offers);
  return offer;
}

Run runResponse(std::span<const uint8_t> input, std::size_t cut, const ws::UpgradeOffer& offer) {
  Run run;
  http::ResponseParser parser;
  run.status = feed(parser, input, cut, run.head);
  if (run.status != http::ParseStatus::Done) return run;
  const http::Response& response = parser.response();
  const ws::ResponseCheck checked = ws::checkUpgradeResponse(response, offer);
  check(checked.ok() == (checked.refusal.status == 0));
  if (!checked.ok()) {
    check(checked.refusal.status == 502 && !checked.refusal.reason.empty());
    run.refusal = checked.refusal.status;
    run.reason = checked.refusal.reason;
    return run;
  }
  const ws::UpgradeAccepted& accepted = checked.accepted;
  check(accepted.accept == ws::computeAccept(offer.key));
  if (accepted.protocol) {
    check(std::ranges::find(offer.protocols, *accepted.protocol) != offer.protocols.end());
  }
  check(!accepted.deflate || !offer.deflate_offers.empty());
  run.built = ws::buildClientResponse(response, accepted);
  http::ResponseParser again(http::Limits{SIZE_MAX, SIZE_MAX, SIZE_MAX});
  const http::ParseResult r = again.feed(bytesOf(run.built));
  check(r.status == http::ParseStatus::Done && r.consumed == run.built.size());
  check(ws::checkSwitching(again.response(), offer.key) == ws::ResponseError::None);
  return run;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const std::span<const uint8_t> input(data + 1, size - 1);
  const Run request = runRequest(input, input.size(), flags);
  check(runRequest(input, flags % 16 == 0 ? 1 : input.size() / 2, flags) == request);
  check(runRequest(input, 0, flags) == request);
  const std::span<const uint8_t> rest =
      request.status == http::ParseStatus::Done ? input.subspan(request.head) : input;
  const ws::UpgradeOffer offer = request.built.empty() ? fallbackOffer() : request.offer;
  const Run response = runResponse(rest, rest.size(), offer);
  check(runResponse(rest, rest.size() / 3, offer) == response);
  check(runResponse(rest, 1, offer) == response);
  return 0;
}
