#include "tests/echo/echo_handshake.h"

#include "common/http/error_response.h"
#include "common/ws/deflate_params.h"
#include "common/ws/handshake.h"

#include <cstdio>
#include <vector>

namespace wsgate::echo {

namespace {

// The first token of the comma-separated lists in `offers`, or empty.
std::string firstProtocol(std::string_view offers) {
  while (!offers.empty()) {
    const std::size_t comma = offers.find(',');
    const std::string_view item = http::trimOws(offers.substr(0, comma));
    if (http::isToken(item)) return std::string(item);
    if (comma == std::string_view::npos) break;
    offers.remove_prefix(comma + 1);
  }
  return {};
}

UpgradeDecision refuse(int status, const char* reason) {
  UpgradeDecision decision;
  decision.status = status;
  decision.reason = reason;
  return decision;
}

void appendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  for (const char c : text) {
    const auto byte = static_cast<uint8_t>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (byte < 0x20 || byte > 0x7E) {
      char escape[8];
      std::snprintf(escape, sizeof(escape), "\\u%04x", byte);
      out += escape;
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

std::string lowerCase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

} // namespace

UpgradeDecision checkUpgrade(const http::Request& request) {
  if (request.method != "GET") return refuse(400, "method is not GET");
  if (request.version_major != 1 || request.version_minor < 1) {
    return refuse(400, "HTTP/1.1 required");
  }
  if (request.has_body) return refuse(400, "upgrade request with a body");
  const http::HeaderList& headers = request.headers;
  if (!headers.hasToken("Upgrade", "websocket")) return refuse(400, "Upgrade is not websocket");
  if (!headers.hasToken("Connection", "upgrade")) return refuse(400, "Connection lacks upgrade");
  const auto key = headers.get("Sec-WebSocket-Key");
  if (!key || headers.count("Sec-WebSocket-Key") != 1 || !ws::isValidKey(*key)) {
    return refuse(400, "missing or invalid Sec-WebSocket-Key");
  }
  const auto version = headers.get("Sec-WebSocket-Version");
  if (!version || headers.count("Sec-WebSocket-Version") != 1 || *version != "13") {
    UpgradeDecision decision = refuse(400, "unsupported Sec-WebSocket-Version");
    decision.bad_version = true;
    return decision;
  }
  UpgradeDecision decision;
  decision.accept = ws::computeAccept(*key);
  if (const auto offers = headers.getAll("Sec-WebSocket-Protocol")) {
    decision.protocol = firstProtocol(*offers);
  }
  return decision;
}

std::string acceptDeflate(const http::HeaderList& headers) {
  const auto offer = headers.getAll("Sec-WebSocket-Extensions");
  if (!offer) return {};
  std::vector<ws::DeflateParams> offers;
  ws::keepDeflateOffers(*offer, offers);
  if (offers.empty()) return {};
  std::string out(ws::kPermessageDeflate);
  if (offers.front().server_no_context_takeover) out += "; server_no_context_takeover";
  if (offers.front().client_no_context_takeover) out += "; client_no_context_takeover";
  return out;
}

std::string buildSwitchingProtocols(std::string_view accept, std::string_view protocol,
                                    std::string_view extensions) {
  std::string out = "HTTP/1.1 101 Switching Protocols\r\n"
                    "Upgrade: websocket\r\n"
                    "Connection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: ";
  out += accept;
  out += "\r\n";
  if (!protocol.empty()) {
    out += "Sec-WebSocket-Protocol: ";
    out += protocol;
    out += "\r\n";
  }
  if (!extensions.empty()) {
    out += "Sec-WebSocket-Extensions: ";
    out += extensions;
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

std::string buildRefusal(const UpgradeDecision& decision) {
  std::string body = decision.reason;
  body += '\n';
  if (decision.bad_version) {
    const http::Header version{"Sec-WebSocket-Version", "13"};
    return http::buildErrorResponse(decision.status, body, std::span(&version, 1));
  }
  return http::buildErrorResponse(decision.status, body);
}

std::string headersJson(const http::HeaderList& headers) {
  std::vector<std::string> names;
  for (const http::Header& header : headers) {
    std::string name = lowerCase(header.name);
    bool seen = false;
    for (const std::string& known : names)
      seen = seen || known == name;
    if (!seen) names.push_back(std::move(name));
  }
  std::string out = "{";
  for (const std::string& name : names) {
    if (out.size() > 1) out += ',';
    appendJsonString(out, name);
    out += ':';
    appendJsonString(out, headers.getAll(name).value_or(std::string()));
  }
  out += '}';
  return out;
}

} // namespace wsgate::echo
