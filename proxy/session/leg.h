#pragma once

#include "proxy/transport/stream.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace wsgate::proxy {

// How far the close of one leg (the client's or the backend's connection) has gone. Two things
// progress independently on a leg: the WebSocket close handshake (a close frame to the peer, a
// close frame from it) and the peer's sending side (its FIN); the states are the combinations
// that behave differently. A [transient] state is left by wsgate itself as soon as what is
// queued for the peer is written; the others wait for a peer, the other leg or a timer. Every
// change goes through Leg::advance(), which asserts that it is legal.
enum class LegState : uint8_t {
  Open,           // frames flow both ways; no close frame either way, the peer still sends
  CloseSent,      // a close frame went to the peer; its close (or its FIN) is awaited, unless
                  // the peer broke the protocol (Leg::failing)
  CloseReceived,  // the peer's close frame came; the close owed to it is not sent yet
  CloseExchanged, // close frames went both ways; the server side closes the TCP connection
                  // first: wsgate on the client's leg, the backend on the backend's leg
  Shut,           // the peer ended its sending (FIN) without a close frame; what is owed to it
                  // is still written until the other leg's close is done
  ShutCloseOwed,  // the peer sent its close frame, then its FIN; the close owed to it is not
                  // sent yet
  Finished,       // [transient] the close is done and the peer sends no more: the TCP connection
                  // closes once what is queued for the peer is written
  Closed,         // the connection broke, wsgate cut it or its handle closed: nothing more is
                  // read or written (final)
};
const char* toString(LegState state);

// Sets of states, for set tests (`legIn(state_, kLegSent)`) instead of chains of comparisons.
constexpr uint16_t legBit(LegState state) {
  return static_cast<uint16_t>(1U << static_cast<unsigned>(state));
}
constexpr bool legIn(LegState state, uint16_t set) {
  return (legBit(state) & set) != 0;
}
// A close frame went to the peer (Closed forgets whether one did: nothing more is written).
constexpr uint16_t kLegSent =
    legBit(LegState::CloseSent) | legBit(LegState::CloseExchanged) | legBit(LegState::Finished);
// A close frame came from the peer.
constexpr uint16_t kLegReceived = legBit(LegState::CloseReceived) |
                                  legBit(LegState::CloseExchanged) |
                                  legBit(LegState::ShutCloseOwed);
// The peer sends no more.
constexpr uint16_t kLegReadEnded = legBit(LegState::Shut) | legBit(LegState::ShutCloseOwed) |
                                   legBit(LegState::Finished) | legBit(LegState::Closed);
// Nothing more is owed to or awaited from the peer on the WebSocket level.
constexpr uint16_t kLegDone =
    legBit(LegState::CloseExchanged) | legBit(LegState::Finished) | legBit(LegState::Closed);

// What moves a leg's close forward.
enum class LegEvent : uint8_t {
  CloseSent,     // a close frame went to the peer (relayed or wsgate's own)
  CloseReceived, // a close frame came from the peer
  PeerShut,      // the peer's sending ended (EOF)
  Closed,        // the connection broke, wsgate cut it, or its handle closed
};

// The state `event` leads to from `state`. Repeated events leave the state as it is (a close
// owed and a close relayed may both go out); a close frame after the peer's FIN, or a second
// close frame from the peer, is illegal (asserted in debug builds).
LegState nextLegState(LegState state, LegEvent event);

// One TCP connection of a session (the client's or the backend's) and its close state.
struct Leg {
  explicit Leg(const char* leg_name) : name(leg_name) {}

  LegState state() const { return state_; }
  // The only place where the state changes.
  void advance(LegEvent event) { state_ = nextLegState(state_, event); }

  // A close frame went to this peer (relayed or wsgate's own).
  bool closeSent() const { return legIn(state_, kLegSent); }
  // A close frame came from this peer.
  bool closeReceived() const { return legIn(state_, kLegReceived); }
  // The peer finished sending (EOF) or its connection broke. A FIN ends the peer's sending, not
  // its receiving: what is owed to it is still written.
  bool readEnded() const { return legIn(state_, kLegReadEnded); }
  // The connection broke or wsgate cut it: nothing more is written.
  bool failed() const { return state_ == LegState::Closed; }
  // Nothing more is owed to or awaited from this peer on the WebSocket level.
  bool closeDone() const {
    return legIn(state_, kLegDone) || (state_ == LegState::CloseSent && failing);
  }

  void recordClose(uint16_t code, std::string_view reason, const char* by) {
    if (close_code != 0) return;
    close_code = code;
    close_reason = std::make_unique<std::string>(reason);
    closed_by = by;
  }
  std::string_view closeReason() const {
    return close_reason ? std::string_view(*close_reason) : std::string_view();
  }

  const char* name; // "client" or "backend"
  std::unique_ptr<Stream> stream;
  // The close that ended this leg: its code (1006 when TCP ended without one), reason and
  // who sent it first ("client", "backend" or "proxy"). Code 0: not closing yet. The reason
  // is allocated when the leg closes: an open leg (most of them, most of the time) holds none.
  std::unique_ptr<std::string> close_reason;
  const char* closed_by = "";
  uint64_t bytes_in = 0; // bytes read from this peer
  uint64_t messages_in = 0;
  uint16_t close_code = 0;
  bool established = false;   // connected (backend) or accepted (client)
  bool close_counted = false; // wsgate_closes_total has this leg (counted when its TCP closed)
  // The peer broke the protocol: its connection is failed (RFC 6455 section 7.1.7), so once
  // wsgate's close frame is out, its reply is not awaited.
  bool failing = false;

private:
  LegState state_ = LegState::Open;
};

} // namespace wsgate::proxy
