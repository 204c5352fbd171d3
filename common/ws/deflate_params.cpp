#include "common/ws/deflate_params.h"

#include "common/http/headers.h"

namespace wsgate::ws {

namespace {

// One element of an extension list (RFC 6455 section 9.1), split at top-level commas.
std::vector<std::string_view> splitElements(std::string_view value) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (quoted && c == '\\') {
      ++i; // the escaped character, whatever it is
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.push_back(http::trimOws(value.substr(start, i - start)));
      start = i + 1;
    }
  }
  out.push_back(http::trimOws(value.substr(start)));
  return out;
}

// The element's name: the token before the first ';'.
std::string_view elementName(std::string_view element) {
  return http::trimOws(element.substr(0, element.find(';')));
}

// A parameter value: a token or a quoted-string, unquoted. nullopt when it is neither.
std::optional<std::string> parseValue(std::string_view raw) {
  if (raw.empty()) return std::nullopt;
  if (raw.front() != '"') {
    if (!http::isToken(raw)) return std::nullopt;
    return std::string(raw);
  }
  if (raw.size() < 2 || raw.back() != '"') return std::nullopt;
  std::string out;
  for (std::size_t i = 1; i + 1 < raw.size(); ++i) {
    char c = raw[i];
    if (c == '"') return std::nullopt;
    if (c == '\\') {
      if (i + 2 >= raw.size()) return std::nullopt;
      c = raw[++i];
    }
    out.push_back(c);
  }
  // RFC 6455 section 9.1: a quoted value must still be a token once unquoted.
  if (!http::isToken(out)) return std::nullopt;
  return out;
}

// "8".."15", no sign, no leading zero.
std::optional<uint8_t> parseWindowBits(std::string_view text) {
  if (text.empty() || text.size() > 2 || text.front() == '0') return std::nullopt;
  unsigned value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value < kMinWindowBits || value > kMaxWindowBits) return std::nullopt;
  return static_cast<uint8_t>(value);
}

struct ParsedElement {
  DeflateParams params;
  std::string error; // empty when well formed
};

// Sets one parameter; "" or why it is not allowed.
std::string applyParam(std::string_view name, const std::optional<std::string>& value,
                       bool has_value, bool answer, DeflateParams& p) {
  const bool server_nct = http::equalsIgnoreCase(name, "server_no_context_takeover");
  const bool client_nct = http::equalsIgnoreCase(name, "client_no_context_takeover");
  if (server_nct || client_nct) {
    bool& flag = server_nct ? p.server_no_context_takeover : p.client_no_context_takeover;
    if (flag) return "parameter '" + std::string(name) + "' appears twice";
    if (has_value) return "parameter '" + std::string(name) + "' takes no value";
    flag = true;
    return "";
  }
  const bool server_bits = http::equalsIgnoreCase(name, "server_max_window_bits");
  const bool client_bits = http::equalsIgnoreCase(name, "client_max_window_bits");
  if (!server_bits && !client_bits) return "unknown parameter '" + std::string(name) + "'";
  std::optional<uint8_t>& field = server_bits ? p.server_max_window_bits : p.client_max_window_bits;
  if (field) return "parameter '" + std::string(name) + "' appears twice";
  if (!has_value) {
    // Only an offer's client_max_window_bits may come without a value (RFC 7692 7.1.2.2).
    if (server_bits || answer) return "parameter '" + std::string(name) + "' needs a value 8-15";
    field = 0;
    return "";
  }
  const std::optional<uint8_t> bits = value ? parseWindowBits(*value) : std::nullopt;
  if (!bits) return "parameter '" + std::string(name) + "' must be an integer 8-15";
  field = bits;
  return "";
}

// The parameters of a permessage-deflate element (its name already checked).
ParsedElement parseElement(std::string_view element, bool answer) {
  ParsedElement out;
  std::size_t semi = element.find(';');
  while (semi != std::string_view::npos) {
    element.remove_prefix(semi + 1);
    // A parameter ends at the next ';' outside a quoted value.
    std::size_t end = 0;
    bool quoted = false;
    for (; end < element.size(); ++end) {
      if (quoted && element[end] == '\\') {
        ++end;
      } else if (element[end] == '"') {
        quoted = !quoted;
      } else if (element[end] == ';' && !quoted) {
        break;
      }
    }
    const std::string_view param = element.substr(0, std::min(end, element.size()));
    semi = end < element.size() ? end : std::string_view::npos;
    const std::size_t eq = param.find('=');
    const std::string_view name = http::trimOws(param.substr(0, eq));
    if (!http::isToken(name)) {
      out.error = "malformed parameter '" + std::string(http::trimOws(param)) + "'";
      return out;
    }
    const bool has_value = eq != std::string_view::npos;
    std::optional<std::string> value;
    if (has_value) {
      value = parseValue(http::trimOws(param.substr(eq + 1)));
      if (!value) {
        out.error = "malformed value in '" + std::string(http::trimOws(param)) + "'";
        return out;
      }
    }
    out.error = applyParam(name, value, has_value, answer, out.params);
    if (!out.error.empty()) return out;
  }
  return out;
}

// "" when `answer` is a response that `offer` allows (RFC 7692 section 7.1), else why not.
std::string checkAgainstOffer(const DeflateParams& answer, const DeflateParams& offer) {
  if (offer.server_no_context_takeover && !answer.server_no_context_takeover) {
    return "the client asked for server_no_context_takeover and the answer lacks it";
  }
  if (offer.server_max_window_bits) {
    if (!answer.server_max_window_bits) {
      return "the client offered server_max_window_bits=" +
             std::to_string(*offer.server_max_window_bits) + " and the answer lacks it";
    }
    if (*answer.server_max_window_bits > *offer.server_max_window_bits) {
      return "server_max_window_bits=" + std::to_string(*answer.server_max_window_bits) +
             " is above the offered " + std::to_string(*offer.server_max_window_bits);
    }
  }
  if (answer.client_max_window_bits) {
    if (!offer.client_max_window_bits) {
      return "client_max_window_bits in the answer, but the client did not offer it";
    }
    if (*offer.client_max_window_bits != 0 &&
        *answer.client_max_window_bits > *offer.client_max_window_bits) {
      return "client_max_window_bits=" + std::to_string(*answer.client_max_window_bits) +
             " is above the offered " + std::to_string(*offer.client_max_window_bits);
    }
  }
  return "";
}

bool isWellFormedName(std::string_view name) {
  return http::isToken(name);
}

} // namespace

std::string keepDeflateOffers(std::string_view value, std::vector<DeflateParams>& offers) {
  std::string kept;
  for (const std::string_view element : splitElements(value)) {
    if (!http::equalsIgnoreCase(elementName(element), kPermessageDeflate)) continue;
    if (!kept.empty()) kept += ", ";
    kept += element;
    ParsedElement parsed = parseElement(element, false);
    if (parsed.error.empty()) offers.push_back(parsed.params);
  }
  return kept;
}

DeflateAnswer checkDeflateAnswer(std::string_view value, const std::vector<DeflateParams>& offers) {
  DeflateAnswer out;
  const auto fail = [&out](DeflateAnswerError error, std::string reason) {
    out.error = error;
    out.reason = std::move(reason);
    return out;
  };
  const std::vector<std::string_view> elements = splitElements(value);
  for (const std::string_view element : elements) {
    const std::string_view name = elementName(element);
    if (!isWellFormedName(name)) {
      return fail(DeflateAnswerError::Malformed,
                  "malformed Sec-WebSocket-Extensions '" + std::string(value) + "'");
    }
    if (!http::equalsIgnoreCase(name, kPermessageDeflate) || offers.empty()) {
      return fail(DeflateAnswerError::NotOffered,
                  "extension '" + std::string(name) + "' was not offered");
    }
  }
  if (elements.size() != 1) {
    return fail(DeflateAnswerError::NotOffered,
                "permessage-deflate chosen more than once: '" + std::string(value) + "'");
  }
  const ParsedElement parsed = parseElement(elements.front(), true);
  if (!parsed.error.empty()) {
    return fail(DeflateAnswerError::Malformed, "permessage-deflate: " + parsed.error);
  }
  std::string first_reason;
  for (const DeflateParams& offer : offers) {
    std::string why = checkAgainstOffer(parsed.params, offer);
    if (why.empty()) {
      const DeflateParams& a = parsed.params;
      out.session.client = {a.client_max_window_bits.value_or(kMaxWindowBits),
                            a.client_no_context_takeover};
      out.session.server = {a.server_max_window_bits.value_or(kMaxWindowBits),
                            a.server_no_context_takeover};
      return out;
    }
    if (first_reason.empty()) first_reason = std::move(why);
  }
  return fail(DeflateAnswerError::InconsistentWithOffer,
              "permessage-deflate parameters do not fit the offer: " + first_reason);
}

} // namespace wsgate::ws
