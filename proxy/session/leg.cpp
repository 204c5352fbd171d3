#include "proxy/session/leg.h"

#include <cassert>

namespace wsgate::proxy {

const char* toString(LegState state) {
  switch (state) {
  case LegState::Open:
    return "open";
  case LegState::CloseSent:
    return "close_sent";
  case LegState::CloseReceived:
    return "close_received";
  case LegState::CloseExchanged:
    return "close_exchanged";
  case LegState::Shut:
    return "shut";
  case LegState::ShutCloseOwed:
    return "shut_close_owed";
  case LegState::Finished:
    return "finished";
  case LegState::Closed:
    return "closed";
  }
  return "unknown";
}

namespace {

LegState afterCloseSent(LegState state) {
  switch (state) {
  case LegState::Open:
    return LegState::CloseSent;
  case LegState::CloseReceived:
    return LegState::CloseExchanged;
  case LegState::Shut:
  case LegState::ShutCloseOwed:
    return LegState::Finished;
  default:
    return state; // already sent, or closed
  }
}

LegState afterCloseReceived(LegState state) {
  switch (state) {
  case LegState::Open:
    return LegState::CloseReceived;
  case LegState::CloseSent:
    return LegState::CloseExchanged;
  case LegState::Closed:
    return state; // a close frame parsed from a chunk read before wsgate cut the connection
  default:
    // The parser reports one close frame per peer, and nothing comes after a peer's FIN.
    assert(false && "a second close frame, or one after the peer's FIN");
    return state;
  }
}

LegState afterPeerShut(LegState state) {
  switch (state) {
  case LegState::Open:
    return LegState::Shut;
  case LegState::CloseReceived:
    return LegState::ShutCloseOwed;
  case LegState::CloseSent:
  case LegState::CloseExchanged:
    return LegState::Finished;
  default:
    return state; // already shut, or closed
  }
}

} // namespace

LegState nextLegState(LegState state, LegEvent event) {
  switch (event) {
  case LegEvent::CloseSent:
    return afterCloseSent(state);
  case LegEvent::CloseReceived:
    return afterCloseReceived(state);
  case LegEvent::PeerShut:
    return afterPeerShut(state);
  case LegEvent::Closed:
    return LegState::Closed;
  }
  return state;
}

} // namespace wsgate::proxy
