// A leg's close progress: every transition of nextLegState() and what each state answers.
#include "proxy/session/leg.h"

#include <gtest/gtest.h>
#include <set>
#include <string>

namespace wsgate::proxy {
namespace {

constexpr LegState kAll[] = {LegState::Open,           LegState::CloseSent, LegState::CloseReceived,
                             LegState::CloseExchanged, LegState::Shut,      LegState::ShutCloseOwed,
                             LegState::Finished,       LegState::Closed};

TEST(LegState, EveryStateHasItsOwnName) {
  std::set<std::string> names;
  for (LegState state : kAll)
    names.insert(toString(state));
  EXPECT_EQ(names.size(), std::size(kAll));
  EXPECT_EQ(names.count("unknown"), 0u);
  EXPECT_STREQ(toString(LegState::Open), "open");
  EXPECT_STREQ(toString(LegState::CloseSent), "close_sent");
  EXPECT_STREQ(toString(LegState::CloseReceived), "close_received");
  EXPECT_STREQ(toString(LegState::CloseExchanged), "close_exchanged");
  EXPECT_STREQ(toString(LegState::Shut), "shut");
  EXPECT_STREQ(toString(LegState::ShutCloseOwed), "shut_close_owed");
  EXPECT_STREQ(toString(LegState::Finished), "finished");
  EXPECT_STREQ(toString(LegState::Closed), "closed");
}

TEST(LegState, CloseHandshakeStartedByEitherSide) {
  // wsgate's close first, then the peer's reply, then its FIN.
  Leg ours("client");
  ours.advance(LegEvent::CloseSent);
  EXPECT_EQ(ours.state(), LegState::CloseSent);
  EXPECT_FALSE(ours.closeDone());
  ours.advance(LegEvent::CloseReceived);
  EXPECT_EQ(ours.state(), LegState::CloseExchanged);
  EXPECT_TRUE(ours.closeDone());
  EXPECT_FALSE(ours.readEnded());
  ours.advance(LegEvent::PeerShut);
  EXPECT_EQ(ours.state(), LegState::Finished);
  EXPECT_TRUE(ours.readEnded());
  ours.advance(LegEvent::Closed);
  EXPECT_EQ(ours.state(), LegState::Closed);

  // The peer's close first; the close owed to it goes out later.
  Leg theirs("backend");
  theirs.advance(LegEvent::CloseReceived);
  EXPECT_EQ(theirs.state(), LegState::CloseReceived);
  EXPECT_TRUE(theirs.closeReceived());
  EXPECT_FALSE(theirs.closeSent());
  EXPECT_FALSE(theirs.closeDone());
  theirs.advance(LegEvent::CloseSent);
  EXPECT_EQ(theirs.state(), LegState::CloseExchanged);
  EXPECT_TRUE(theirs.closeSent() && theirs.closeReceived() && theirs.closeDone());
}

TEST(LegState, PeerFinInEachPhase) {
  const struct {
    LegState from;
    LegState to;
  } cases[] = {
      {LegState::Open, LegState::Shut},
      {LegState::CloseSent, LegState::Finished},
      {LegState::CloseReceived, LegState::ShutCloseOwed},
      {LegState::CloseExchanged, LegState::Finished},
      {LegState::Shut, LegState::Shut},
      {LegState::ShutCloseOwed, LegState::ShutCloseOwed},
      {LegState::Finished, LegState::Finished},
      {LegState::Closed, LegState::Closed},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(nextLegState(c.from, LegEvent::PeerShut), c.to) << toString(c.from);
  }
}

TEST(LegState, CloseOwedAfterTheFinStillGoesOut) {
  // A half-closed peer still reads: the close owed to it completes its leg.
  EXPECT_EQ(nextLegState(LegState::Shut, LegEvent::CloseSent), LegState::Finished);
  EXPECT_EQ(nextLegState(LegState::ShutCloseOwed, LegEvent::CloseSent), LegState::Finished);
  Leg leg("client");
  leg.advance(LegEvent::PeerShut);
  EXPECT_TRUE(leg.readEnded());
  EXPECT_FALSE(leg.closeDone());
  EXPECT_FALSE(leg.closeReceived());
}

TEST(LegState, RepeatedEventsAndClosedAreStable) {
  for (LegState state : {LegState::CloseSent, LegState::CloseExchanged, LegState::Finished}) {
    EXPECT_EQ(nextLegState(state, LegEvent::CloseSent), state) << toString(state);
  }
  for (LegState state : kAll) {
    EXPECT_EQ(nextLegState(state, LegEvent::Closed), LegState::Closed) << toString(state);
  }
  for (LegEvent event : {LegEvent::CloseSent, LegEvent::CloseReceived, LegEvent::PeerShut}) {
    EXPECT_EQ(nextLegState(LegState::Closed, event), LegState::Closed);
  }
  Leg closed("backend");
  closed.advance(LegEvent::Closed);
  EXPECT_TRUE(closed.failed() && closed.closeDone() && closed.readEnded());
  EXPECT_FALSE(closed.closeSent());
}

TEST(LegState, AnOffendersCloseIsNotAwaited) {
  Leg leg("client");
  leg.failing = true;
  EXPECT_FALSE(leg.closeDone());
  leg.advance(LegEvent::CloseSent);
  EXPECT_EQ(leg.state(), LegState::CloseSent);
  EXPECT_TRUE(leg.closeDone());
}

#ifndef NDEBUG
TEST(LegStateDeathTest, ACloseFrameAfterTheFinOrASecondOneIsIllegal) {
  EXPECT_DEATH(nextLegState(LegState::Shut, LegEvent::CloseReceived), "FIN");
  EXPECT_DEATH(nextLegState(LegState::CloseExchanged, LegEvent::CloseReceived), "second");
  EXPECT_DEATH(nextLegState(LegState::CloseReceived, LegEvent::CloseReceived), "second");
}
#endif

} // namespace
} // namespace wsgate::proxy
