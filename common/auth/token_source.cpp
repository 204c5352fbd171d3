#include "common/auth/token_source.h"

#include "common/http/target.h"

namespace wsgate::auth {
namespace {

// Calls fn(name, value) for each '&'-separated parameter of the query of `target`.
template <typename Fn> void forEachParameter(std::string_view target, Fn&& fn) {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    const std::size_t eq = item.find('=');
    fn(item.substr(0, eq), eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
}

std::optional<std::string> fromHeader(const TokenSource& source, const http::HeaderList& headers) {
  const auto value = headers.get(source.name);
  if (!value) return std::nullopt;
  std::string_view v = http::trimOws(*value);
  constexpr std::string_view kScheme = "bearer ";
  if (v.size() > kScheme.size() && http::equalsIgnoreCase(v.substr(0, kScheme.size()), kScheme)) {
    v = http::trimOws(v.substr(kScheme.size()));
  } else if (http::equalsIgnoreCase(source.name, "authorization")) {
    return std::nullopt; // another scheme (Basic ...) carries no bearer token
  }
  if (v.empty()) return std::nullopt;
  return std::string(v);
}

std::optional<std::string> fromQuery(const TokenSource& source, std::string_view target) {
  std::optional<std::string> found;
  forEachParameter(target, [&](std::string_view name, std::string_view value) {
    if (!found && name == source.name && !value.empty()) found = http::decodeQueryComponent(value);
  });
  return found;
}

std::optional<std::string> fromCookie(const TokenSource& source, const http::HeaderList& headers) {
  for (const http::Header& header : headers) {
    if (!http::equalsIgnoreCase(header.name, "cookie")) continue;
    std::string_view rest = header.value;
    while (!rest.empty()) {
      const std::size_t semi = rest.find(';');
      const std::string_view pair = http::trimOws(rest.substr(0, semi));
      const std::size_t eq = pair.find('=');
      if (eq != std::string_view::npos && http::trimOws(pair.substr(0, eq)) == source.name) {
        std::string_view value = http::trimOws(pair.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
          value = value.substr(1, value.size() - 2);
        }
        if (!value.empty()) return std::string(value);
      }
      if (semi == std::string_view::npos) break;
      rest.remove_prefix(semi + 1);
    }
  }
  return std::nullopt;
}

std::optional<std::string> fromSubprotocol(const http::HeaderList& headers) {
  const auto value = headers.getAll("sec-websocket-protocol");
  if (!value) return std::nullopt;
  std::string_view rest = *value;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view entry = http::trimOws(rest.substr(0, comma));
    if (entry.size() > kProtocolPrefix.size() && entry.starts_with(kProtocolPrefix)) {
      return std::string(entry.substr(kProtocolPrefix.size()));
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return std::nullopt;
}

} // namespace

std::optional<TokenSource> parseTokenSource(std::string_view text) {
  if (text == "subprotocol") return TokenSource{SourceKind::Subprotocol, ""};
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) return std::nullopt;
  const std::string_view kind = text.substr(0, colon);
  const std::string_view name = text.substr(colon + 1);
  if (!http::isToken(name)) return std::nullopt;
  if (kind == "header") return TokenSource{SourceKind::Header, std::string(name)};
  if (kind == "query") return TokenSource{SourceKind::Query, std::string(name)};
  if (kind == "cookie") return TokenSource{SourceKind::Cookie, std::string(name)};
  return std::nullopt;
}

std::optional<FoundToken> findToken(const std::vector<TokenSource>& sources,
                                    const http::HeaderList& headers, std::string_view target) {
  for (const TokenSource& source : sources) {
    std::optional<std::string> token;
    switch (source.kind) {
    case SourceKind::Header:
      token = fromHeader(source, headers);
      break;
    case SourceKind::Query:
      token = fromQuery(source, target);
      break;
    case SourceKind::Cookie:
      token = fromCookie(source, headers);
      break;
    case SourceKind::Subprotocol:
      token = fromSubprotocol(headers);
      break;
    }
    if (token) return FoundToken{std::move(*token), &source};
  }
  return std::nullopt;
}

std::string removeQueryParameter(std::string_view target, std::string_view name) {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return std::string(target);
  std::string out(target.substr(0, q));
  std::string kept;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    if (!item.empty() && item.substr(0, item.find('=')) != name) {
      if (!kept.empty()) kept += '&';
      kept += item;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  if (!kept.empty()) out += "?" + kept;
  return out;
}

std::vector<std::string> protocolsWithoutToken(std::string_view value) {
  std::vector<std::string> out;
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    const std::string_view entry = http::trimOws(value.substr(0, comma));
    if (!entry.empty() && !entry.starts_with(kProtocolPrefix)) out.emplace_back(entry);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

} // namespace wsgate::auth
