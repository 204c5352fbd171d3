#include "common/ws/deflate_params.h"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace wsgate::ws {
namespace {

std::vector<DeflateParams> offersOf(std::string_view value) {
  std::vector<DeflateParams> offers;
  keepDeflateOffers(value, offers);
  return offers;
}

DeflateAnswer answer(std::string_view offer, std::string_view response) {
  return checkDeflateAnswer(response, offersOf(offer));
}

TEST(DeflateOffer, KeepsDeflateElementsAsWrittenAndDropsOthers) {
  std::vector<DeflateParams> offers;
  const std::string kept = keepDeflateOffers(
      "x-webkit-deflate-frame, permessage-deflate; client_max_window_bits, foo; a=\"b, c\", "
      "permessage-deflate; server_max_window_bits=10; server_no_context_takeover",
      offers);
  EXPECT_EQ(kept, "permessage-deflate; client_max_window_bits, permessage-deflate; "
                  "server_max_window_bits=10; server_no_context_takeover");
  ASSERT_EQ(offers.size(), 2u);
  EXPECT_EQ(offers[0].client_max_window_bits, std::optional<uint8_t>(0));
  EXPECT_FALSE(offers[0].server_max_window_bits);
  EXPECT_EQ(offers[1].server_max_window_bits, std::optional<uint8_t>(10));
  EXPECT_TRUE(offers[1].server_no_context_takeover);
}

TEST(DeflateOffer, NoDeflateLeavesNothing) {
  std::vector<DeflateParams> offers;
  EXPECT_EQ(keepDeflateOffers("x-webkit-deflate-frame", offers), "");
  EXPECT_EQ(keepDeflateOffers("", offers), "");
  EXPECT_TRUE(offers.empty());
}

TEST(DeflateOffer, MalformedOfferIsForwardedButNotUsable) {
  std::vector<DeflateParams> offers;
  EXPECT_EQ(keepDeflateOffers("permessage-deflate; server_max_window_bits=99", offers),
            "permessage-deflate; server_max_window_bits=99");
  EXPECT_TRUE(offers.empty());
  // The backend cannot pick an offer wsgate could not read.
  const DeflateAnswer a = checkDeflateAnswer("permessage-deflate", offers);
  EXPECT_EQ(a.error, DeflateAnswerError::NotOffered);
}

TEST(DeflateAnswer, PlainAnswerUsesFullWindowsAndContextTakeover) {
  const DeflateAnswer a = answer("permessage-deflate", "permessage-deflate");
  ASSERT_TRUE(a.ok()) << a.reason;
  EXPECT_EQ(a.session.client.window_bits, 15);
  EXPECT_EQ(a.session.server.window_bits, 15);
  EXPECT_FALSE(a.session.client.no_context_takeover);
  EXPECT_FALSE(a.session.server.no_context_takeover);
}

TEST(DeflateAnswer, EveryParameterCombination) {
  for (int bits = 8; bits <= 15; ++bits) {
    for (int flags = 0; flags < 4; ++flags) {
      const std::string b = std::to_string(bits);
      std::string response =
          "permessage-deflate; server_max_window_bits=" + b + "; client_max_window_bits=" + b;
      if ((flags & 1) != 0) response += "; server_no_context_takeover";
      if ((flags & 2) != 0) response += "; client_no_context_takeover";
      SCOPED_TRACE(response);
      const DeflateAnswer a =
          answer("permessage-deflate; client_max_window_bits; server_max_window_bits=15", response);
      ASSERT_TRUE(a.ok()) << a.reason;
      EXPECT_EQ(a.session.server.window_bits, bits);
      EXPECT_EQ(a.session.client.window_bits, bits);
      EXPECT_EQ(a.session.server.no_context_takeover, (flags & 1) != 0);
      EXPECT_EQ(a.session.client.no_context_takeover, (flags & 2) != 0);
    }
  }
}

TEST(DeflateAnswer, QuotedValuesAndCaseAndSpacing) {
  const DeflateAnswer a = answer("permessage-deflate; client_max_window_bits",
                                 "Permessage-Deflate ;Client_Max_Window_Bits=\"9\" ; "
                                 "server_max_window_bits = 12");
  ASSERT_TRUE(a.ok()) << a.reason;
  EXPECT_EQ(a.session.client.window_bits, 9);
  EXPECT_EQ(a.session.server.window_bits, 12);
}

TEST(DeflateAnswer, ServerMayAddContextTakeoverFlagsAndServerWindow) {
  const DeflateAnswer a =
      answer("permessage-deflate", "permessage-deflate; client_no_context_takeover; "
                                   "server_no_context_takeover; server_max_window_bits=10");
  ASSERT_TRUE(a.ok()) << a.reason;
  EXPECT_TRUE(a.session.client.no_context_takeover);
  EXPECT_TRUE(a.session.server.no_context_takeover);
}

TEST(DeflateAnswer, PicksAnyFittingOffer) {
  const DeflateAnswer a = answer("permessage-deflate; server_max_window_bits=9, permessage-deflate",
                                 "permessage-deflate; server_max_window_bits=12");
  ASSERT_TRUE(a.ok()) << a.reason;
  EXPECT_EQ(a.session.server.window_bits, 12);
}

struct Refusal {
  const char* offer;
  const char* response;
  DeflateAnswerError error;
  const char* reason_part;
};

TEST(DeflateAnswer, Refusals) {
  const Refusal cases[] = {
      {"permessage-deflate", "x-webkit-deflate-frame", DeflateAnswerError::NotOffered,
       "'x-webkit-deflate-frame' was not offered"},
      {"", "permessage-deflate", DeflateAnswerError::NotOffered, "was not offered"},
      {"permessage-deflate", "permessage-deflate, permessage-deflate",
       DeflateAnswerError::NotOffered, "more than once"},
      {"permessage-deflate", "permessage-deflate; foo", DeflateAnswerError::Malformed,
       "unknown parameter 'foo'"},
      {"permessage-deflate", "permessage-deflate; server_no_context_takeover=1",
       DeflateAnswerError::Malformed, "takes no value"},
      {"permessage-deflate",
       "permessage-deflate; server_no_context_takeover; "
       "server_no_context_takeover",
       DeflateAnswerError::Malformed, "appears twice"},
      {"permessage-deflate", "permessage-deflate; server_max_window_bits=7",
       DeflateAnswerError::Malformed, "8-15"},
      {"permessage-deflate", "permessage-deflate; server_max_window_bits=16",
       DeflateAnswerError::Malformed, "8-15"},
      {"permessage-deflate", "permessage-deflate; server_max_window_bits=08",
       DeflateAnswerError::Malformed, "8-15"},
      {"permessage-deflate", "permessage-deflate; server_max_window_bits",
       DeflateAnswerError::Malformed, "needs a value"},
      {"permessage-deflate; client_max_window_bits", "permessage-deflate; client_max_window_bits",
       DeflateAnswerError::Malformed, "needs a value"},
      {"permessage-deflate", "permessage-deflate; server_max_window_bits=\"1\"0\"",
       DeflateAnswerError::Malformed, "malformed value"},
      {"permessage-deflate", "permessage-deflate;", DeflateAnswerError::Malformed, "malformed"},
      {"permessage-deflate", "permessage-deflate; =3", DeflateAnswerError::Malformed, "malformed"},
      {"permessage-deflate", "", DeflateAnswerError::Malformed, "malformed"},
      {"permessage-deflate", "permessage-deflate; client_max_window_bits=10",
       DeflateAnswerError::InconsistentWithOffer, "did not offer it"},
      {"permessage-deflate; client_max_window_bits=10",
       "permessage-deflate; client_max_window_bits=11", DeflateAnswerError::InconsistentWithOffer,
       "above the offered 10"},
      {"permessage-deflate; server_max_window_bits=10", "permessage-deflate",
       DeflateAnswerError::InconsistentWithOffer, "the answer lacks it"},
      {"permessage-deflate; server_max_window_bits=10",
       "permessage-deflate; server_max_window_bits=11", DeflateAnswerError::InconsistentWithOffer,
       "above the offered 10"},
      {"permessage-deflate; server_no_context_takeover", "permessage-deflate",
       DeflateAnswerError::InconsistentWithOffer, "server_no_context_takeover"},
  };
  for (const Refusal& c : cases) {
    SCOPED_TRACE(std::string(c.offer) + " -> " + c.response);
    const DeflateAnswer a = answer(c.offer, c.response);
    EXPECT_EQ(a.error, c.error);
    EXPECT_NE(a.reason.find(c.reason_part), std::string::npos) << a.reason;
  }
}

// The header value may come whole, or as several fields joined by ", " (RFC 9110 5.3) split at
// any element boundary; and any truncation is answered (accepted or refused), never misread.
TEST(DeflateAnswer, EverySplitPoint) {
  const std::string offer = "permessage-deflate; client_max_window_bits; server_max_window_bits=12"
                            ", x-foo; a=\"1,2\", permessage-deflate";
  const std::vector<DeflateParams> whole = offersOf(offer);
  ASSERT_EQ(whole.size(), 2u);
  for (std::size_t i = 0; i <= offer.size(); ++i) {
    std::vector<DeflateParams> prefix;
    keepDeflateOffers(offer.substr(0, i), prefix);
    EXPECT_LE(prefix.size(), 2u);
    if (i < offer.size() && offer[i] == ',') {
      // Two header fields joined: the same offers.
      std::vector<DeflateParams> joined;
      const std::string kept =
          keepDeflateOffers(offer.substr(0, i) + ", " + offer.substr(i + 1), joined);
      EXPECT_EQ(joined.size(), whole.size()) << "split at " << i;
      EXPECT_EQ(kept, keepDeflateOffers(offer, prefix)) << "split at " << i;
    }
  }
  const std::string response =
      "permessage-deflate; server_max_window_bits=\"12\"; client_max_window_bits=9; "
      "client_no_context_takeover";
  ASSERT_TRUE(checkDeflateAnswer(response, whole).ok());
  for (std::size_t i = 0; i < response.size(); ++i) {
    const DeflateAnswer a = checkDeflateAnswer(response.substr(0, i), whole);
    EXPECT_TRUE(a.ok() || !a.reason.empty()) << "cut at " << i;
    if (a.ok()) {
      // A shorter answer that is still valid must mean what it says.
      EXPECT_LE(a.session.server.window_bits, 15);
    }
  }
}

} // namespace
} // namespace wsgate::ws
