#include "common/http/headers.h"
#include "common/ws/handshake.h"
#include "proxy/probe/explain.h"
#include "proxy/probe/steps.h"

#include <algorithm>
#include <charconv>

namespace wsgate::probe {

namespace {

std::string headerName(const std::string& line) {
  return std::string(http::trimOws(std::string_view(line).substr(0, line.find(':'))));
}

bool userSets(const Options& options, std::string_view name) {
  return std::any_of(options.headers.begin(), options.headers.end(), [&](const std::string& h) {
    return http::equalsIgnoreCase(headerName(h), name);
  });
}

// The upgrade request; `key` is the Sec-WebSocket-Key it carries (the user's, if given).
std::string buildRequest(const Options& options, std::string& key) {
  key = ws::generateKey();
  std::string req = "GET " + options.url.path + " HTTP/1.1\r\n";
  const auto add = [&](std::string_view name, const std::string& value) {
    if (!userSets(options, name)) http::appendHeader(req, name, value);
  };
  add("Host", options.url.hostHeader());
  add("Upgrade", "websocket");
  add("Connection", "Upgrade");
  add("Sec-WebSocket-Key", key);
  add("Sec-WebSocket-Version", "13");
  if (!options.origin.empty()) add("Origin", options.origin);
  if (!options.subprotocols.empty()) {
    std::string list;
    for (const std::string& p : options.subprotocols) {
      if (!list.empty()) list += ", ";
      list += p;
    }
    add("Sec-WebSocket-Protocol", list);
  }
  add("User-Agent", "wsgate-probe/" WSGATE_VERSION);
  for (const std::string& h : options.headers) {
    const std::string name = headerName(h);
    const std::string value(http::trimOws(std::string_view(h).substr(h.find(':') + 1)));
    if (http::equalsIgnoreCase(name, "sec-websocket-key")) key = value;
    http::appendHeader(req, name, value);
  }
  return req + "\r\n";
}

// Reads the body of a refusal: Content-Length bytes, a chunked body, or until the server
// closes; at most 64 KiB, within the deadline.
std::string readBody(Conn& conn, const http::Response& response, std::vector<uint8_t> bytes,
                     Clock::time_point deadline) {
  std::size_t want = std::size_t{64} * 1024;
  bool chunked = false;
  if (const auto length = response.headers.get("content-length")) {
    std::size_t n = 0;
    std::from_chars(length->data(), length->data() + length->size(), n);
    want = std::min(want, n);
  } else if (response.headers.hasToken("transfer-encoding", "chunked")) {
    chunked = true;
  }
  const auto complete = [&] {
    if (!chunked) return bytes.size() >= want;
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return text.find("0\r\n\r\n") != std::string_view::npos || bytes.size() >= want;
  };
  while (!complete() && conn.readSome(bytes, deadline) == IoStatus::Ok) {
  }
  std::string body(bytes.begin(), bytes.end());
  if (!chunked) return body.substr(0, want);
  std::string plain;
  for (std::size_t at = 0; at < body.size();) {
    std::size_t size = 0;
    const auto [end, ec] = std::from_chars(body.data() + at, body.data() + body.size(), size, 16);
    const std::size_t line_end = body.find("\r\n", at);
    if (ec != std::errc() || size == 0 || line_end == std::string::npos) break;
    plain += body.substr(line_end + 2, size);
    at = line_end + 2 + size + 2;
    (void)end;
  }
  return plain;
}

std::string oneLine(std::string text, std::size_t max = 300) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::erase(text, '\r');
  while (!text.empty() && text.back() == ' ')
    text.pop_back();
  return text.size() > max ? text.substr(0, max) + "..." : text;
}

// The checks of RFC 6455 section 4.1 on a 101: "" when it is valid.
std::string check101(const http::Response& response, const std::string& key, const Options& options,
                     Upgraded& upgraded) {
  const http::HeaderList& headers = response.headers;
  if (!headers.hasToken("upgrade", "websocket")) {
    return "the 101 has no 'Upgrade: websocket' header: an intermediary rewrote the response";
  }
  if (!headers.hasToken("connection", "upgrade")) {
    return "the 101 has no 'Connection: Upgrade' header: an intermediary rewrote the response";
  }
  const auto accept = headers.get("sec-websocket-accept");
  const std::string expected = ws::computeAccept(key);
  if (headers.count("sec-websocket-accept") != 1 || http::trimOws(*accept) != expected) {
    return "wrong Sec-WebSocket-Accept: got '" + std::string(accept ? *accept : "") +
           "', expected '" + expected +
           "' (the base64 SHA-1 of our key and the RFC 6455 GUID): the server computes it "
           "wrongly or something on the path answered for it";
  }
  if (const auto chosen = headers.getAll("sec-websocket-extensions")) {
    const auto offered = [&] {
      for (const std::string& h : options.headers)
        if (http::equalsIgnoreCase(headerName(h), "sec-websocket-extensions")) return true;
      return false;
    }();
    if (!offered) {
      return "the server chose extension '" + *chosen +
             "' which the probe did not offer (RFC 6455 section 9.1: the client must fail "
             "the connection)";
    }
    upgraded.allowed_rsv = 0x4;
  }
  if (const auto protocol = headers.get("sec-websocket-protocol")) {
    const std::string chosen(http::trimOws(*protocol));
    if (std::find(options.subprotocols.begin(), options.subprotocols.end(), chosen) ==
        options.subprotocols.end()) {
      return "the server chose subprotocol '" + chosen + "' which the probe did not offer" +
             (options.subprotocols.empty() ? std::string(" (none was offered)") : "");
    }
    upgraded.subprotocol = chosen;
  }
  return "";
}

struct Head {
  http::ResponseParser parser;
  std::vector<uint8_t> rest; // the bytes after the head
};

// Reads the response head; a Verdict when there is none.
Verdict readHead(Conn& conn, const Options& options, Report& report, Head& head) {
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + options.timeout;
  std::vector<uint8_t> buf;
  for (;;) {
    const IoStatus status = conn.readSome(buf, deadline);
    if (status != IoStatus::Ok) {
      const std::string why =
          status == IoStatus::Timeout
              ? "no response within " + std::to_string(options.timeout.count()) +
                    " ms: the server (or a proxy) accepted the connection but does not answer "
                    "HTTP here"
          : status == IoStatus::Eof
              ? "the server closed the connection without an HTTP response: it does not speak "
                "HTTP on this port, or it dropped the request"
              : "reading the response failed: " + conn.error();
      report.step("response", false, msSince(start), why);
      return Verdict::fail(kExitConnection, why);
    }
    const http::ParseResult result = head.parser.feed(buf);
    if (result.status == http::ParseStatus::Done) {
      head.rest.assign(buf.begin() + static_cast<long>(result.consumed), buf.end());
      return {};
    }
    if (result.status == http::ParseStatus::Error) {
      const std::string why = std::string("the response is not valid HTTP: ") +
                              head.parser.error().reason +
                              ": the port does not serve HTTP, or the server is broken";
      report.step("response", false, msSince(start), why);
      return Verdict::fail(kExitHandshake, why);
    }
    buf.clear();
  }
}

// A non-101 answer: reads its body and explains it.
Verdict refused(Conn& conn, const Options& options, Report& report, Head& head, Json fields,
                const std::string& status_line, Clock::time_point start) {
  const http::Response& response = head.parser.response();
  const std::string body =
      oneLine(readBody(conn, response, std::move(head.rest), Clock::now() + options.timeout));
  fields.str("body", body);
  Sent sent{options.origin, !options.subprotocols.empty(), "13"};
  for (const std::string& h : options.headers) {
    if (http::equalsIgnoreCase(headerName(h), "sec-websocket-version")) {
      sent.version = std::string(http::trimOws(std::string_view(h).substr(h.find(':') + 1)));
    }
  }
  const std::string why = explainStatus(response, body, sent);
  report.step("response", false, msSince(start), status_line, fields.str("diagnosis", why));
  for (const http::Header& h : response.headers)
    report.detail("< " + h.name + ": " + h.value);
  if (!body.empty()) report.detail("body: " + body);
  return Verdict::fail(kExitHandshake, why);
}

} // namespace

Verdict upgrade(Conn& conn, const Options& options, Report& report, Upgraded& upgraded) {
  std::string key;
  const std::string request = buildRequest(options, key);
  Clock::time_point start = Clock::now();
  if (conn.writeAll(request.data(), request.size(), start + options.timeout) != IoStatus::Ok) {
    const std::string why = "sending the upgrade request failed: " + conn.error();
    report.step("request", false, msSince(start), why);
    return Verdict::fail(kExitConnection, why);
  }
  report.step("request", true, -1, "GET " + options.url.path + " HTTP/1.1 (upgrade)",
              Json().str("raw", request));
  for (std::size_t at = request.find("\r\n") + 2; at < request.size() - 2;) {
    const std::size_t end = request.find("\r\n", at);
    report.detail("> " + request.substr(at, end - at));
    at = end + 2;
  }
  start = Clock::now();
  Head head;
  if (Verdict v = readHead(conn, options, report, head); v.done) return v;
  const http::Response& response = head.parser.response();
  Json fields;
  fields.integer("status", response.status).str("reason", response.reason);
  Json headers;
  for (const http::Header& h : response.headers)
    headers.str(h.name, h.value);
  fields.raw("headers", headers.text());
  const std::string status_line = "HTTP/" + std::to_string(response.version_major) + "." +
                                  std::to_string(response.version_minor) + " " +
                                  std::to_string(response.status) + " " + response.reason;
  if (response.status != 101) {
    return refused(conn, options, report, head, std::move(fields), status_line, start);
  }
  const std::string invalid = check101(response, key, options, upgraded);
  if (!invalid.empty()) {
    report.step("response", false, msSince(start), status_line, fields.str("diagnosis", invalid));
    return Verdict::fail(kExitHandshake, "invalid 101: " + invalid);
  }
  if (!upgraded.subprotocol.empty()) fields.str("subprotocol", upgraded.subprotocol);
  report.step("response", true, msSince(start), status_line + " (upgraded)", fields);
  if (!upgraded.subprotocol.empty()) report.detail("subprotocol: " + upgraded.subprotocol);
  if (!options.subprotocols.empty() && upgraded.subprotocol.empty()) {
    report.detail("note: the server chose none of the offered subprotocols");
  }
  upgraded.early = std::move(head.rest);
  return {};
}

} // namespace wsgate::probe
