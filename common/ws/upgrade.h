#pragma once

// The WebSocket upgrade as a proxy sees it, without I/O: the client's request is judged, the
// request for the backend is built from it, and the backend's 101 is judged and turned into the
// 101 the client gets. proxy/session/ reads and writes the bytes; routing, admission and
// backend choice stay there and reach these functions as plain data.
//
// Every function here is a function of parsed heads (http::Request, http::Response): how the
// bytes were split when they arrived cannot change a result.

#include "common/http/headers.h"
#include "common/http/parser.h"
#include "common/ws/deflate_params.h"
#include "common/ws/frame_parser.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::ws {

// An HTTP answer that refuses an upgrade: the status, the reason (the body, and the log's
// error), and headers the answer needs (`Allow: GET` with a 405, `Sec-WebSocket-Version: 13`
// with a 426).
struct UpgradeRefusal {
  int status = 0;
  std::string reason;
  std::vector<http::Header> headers;
};

// What a valid upgrade request says, for routing and for the backend's request.
struct UpgradeRequest {
  std::string key;    // Sec-WebSocket-Key, trimmed: the base64 of 16 bytes
  std::string host;   // the Host header, or the authority of an absolute-form target
  std::string target; // the normalised origin-form target: path, then '?' and the query if any
  std::string path;   // the normalised path (starts with '/')
  std::vector<std::string> protocols; // Sec-WebSocket-Protocol entries, trimmed, in order
  // The permessage-deflate elements of Sec-WebSocket-Extensions exactly as written, joined by
  // ", " ("" when there is none), and the parameters of the well-formed ones (keepDeflateOffers).
  std::string deflate_offer;
  std::vector<DeflateParams> deflate_offers;
};

struct RequestCheck {
  UpgradeRefusal refusal; // status 0 when the request is a valid upgrade
  UpgradeRequest upgrade; // meaningful only when ok()
  bool ok() const { return refusal.status == 0; }
};

// Judges a complete request head as a WebSocket upgrade (RFC 6455 section 4.1), rule by rule in
// this order, the first broken rule answering: GET (else 405 with Allow: GET); HTTP/1.1; one
// non-empty Host; Upgrade lists websocket; Connection lists upgrade; no body;
// Sec-WebSocket-Version 13 (else 426 with Sec-WebSocket-Version: 13); exactly one valid
// Sec-WebSocket-Key; a target normalizeTarget() accepts. Every other refusal is a 400.
RequestCheck checkUpgradeRequest(const http::Request& request);

// What the proxy adds to, removes from and rewrites in the client's request. Plain data from
// routing, admission, the policy and the listener; the spans and the pointer are borrowed for
// the call only.
struct ForwardOptions {
  std::string_view target{};    // the target to send: UpgradeRequest::target or admission's rewrite
  std::string_view client_ip{}; // appended to X-Forwarded-For
  bool tls = false;             // the client came over TLS: X-Forwarded-Proto wss (else ws)
  bool forward_deflate = false; // pass the permessage-deflate offers (compression = "inspect")
  std::span<const http::Header> add_headers{}; // sent after the client's headers (claims)
  std::span<const std::string> drop_headers{}; // client headers left out, by name
  // When set, the client's Sec-WebSocket-Protocol fields are left out and these entries are
  // offered instead (no field when the list is empty).
  const std::vector<std::string>* protocols = nullptr;
};

// What the backend was offered: what its 101 must match.
struct UpgradeOffer {
  std::string key;
  std::vector<std::string> protocols;
  std::vector<DeflateParams> deflate_offers; // empty when no permessage-deflate was forwarded
};

struct BackendRequest {
  std::string head; // the request head, ending with an empty line
  UpgradeOffer offer;
};

// The request for the backend: "GET <target> HTTP/1.1", the client's headers in their order
// without the hop-by-hop ones (RFC 9110 section 7.6.1, and every header the client's
// Connection names), without Sec-WebSocket-Extensions and X-Forwarded-Proto/-Host, and with
// Host set to `upgrade.host`; then the rewritten subprotocols, `add_headers`, "Upgrade:
// websocket", "Connection: Upgrade", the permessage-deflate offers (other extensions cannot be
// inspected), X-Forwarded-For (the client's values, then `client_ip`), X-Forwarded-Proto and
// X-Forwarded-Host. `request` is the head `upgrade` came from.
BackendRequest buildBackendRequest(const http::Request& request, const UpgradeRequest& upgrade,
                                   const ForwardOptions& options);

// Why a backend's answer is not a usable 101.
enum class ResponseError : uint8_t {
  None,
  NotSwitching,       // a status other than 101
  NotHttp11,          // a 101 in another HTTP version
  NoUpgradeHeaders,   // Upgrade does not list websocket, or Connection does not list upgrade
  AcceptCount,        // more than one Sec-WebSocket-Accept
  WrongAccept,        // no Sec-WebSocket-Accept, or not computeAccept(key)
  ExtensionRefused,   // Sec-WebSocket-Extensions fits none of the forwarded offers
  ProtocolNotOffered, // Sec-WebSocket-Protocol names an entry that was not offered
};

// The checks every WebSocket 101 passes, whoever asked (the session and the health probe):
// status 101, HTTP/1.1, Upgrade and Connection, exactly one Sec-WebSocket-Accept equal to
// computeAccept(key). Returns the first that fails, or None.
ResponseError checkSwitching(const http::Response& response, std::string_view key);

// What a usable 101 negotiated.
struct UpgradeAccepted {
  std::string accept;                  // Sec-WebSocket-Accept, trimmed
  std::optional<std::string> protocol; // the chosen subprotocol
  std::optional<DeflateSession> deflate;
};

struct ResponseCheck {
  ResponseError error = ResponseError::None;
  UpgradeRefusal refusal;   // what the client gets instead (502 with the reason) unless ok()
  UpgradeAccepted accepted; // meaningful only when ok()
  bool ok() const { return error == ResponseError::None; }
};

// Judges the backend's complete response head: checkSwitching(), then the negotiation against
// `offer` (the extension answer must fit a forwarded offer, the subprotocol, all its fields
// joined, must be one offered entry).
ResponseCheck checkUpgradeResponse(const http::Response& response, const UpgradeOffer& offer);

// The 101 for the client: status line, Upgrade, Connection and `accepted.accept`, then the
// backend's headers in their order without hop-by-hop ones, Sec-WebSocket-Accept and
// Content-Length.
std::string buildClientResponse(const http::Response& response, const UpgradeAccepted& accepted);

// The frame rules of a route's policy, as plain data.
struct FrameRules {
  uint64_t max_frame_size = 0;         // client frames
  uint64_t max_message_size = 0;       // both directions
  uint64_t backend_max_frame_size = 0; // backend frames; 0 = max_message_size
  bool validate_utf8 = true;
  bool allow_binary = true;
};

// The parser options of an open session's two directions.
struct RelayParsers {
  ParserOptions from_client;  // frames the client sends (masked)
  ParserOptions from_backend; // frames the backend sends (unmasked)
};

// `rules` applied to each direction, with the permessage-deflate parameters the 101 negotiated.
// A backend that sends each message as one frame is held only to max_message_size unless
// backend_max_frame_size says otherwise.
RelayParsers relayParsers(const FrameRules& rules, const std::optional<DeflateSession>& deflate);

} // namespace wsgate::ws
