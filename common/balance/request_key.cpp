#include "common/balance/request_key.h"

#include "common/http/headers.h"

namespace wsgate::balance {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// The value of `name` in a Cookie field ("a=1; b=2"); RFC 6265 section 5.4 pairs.
std::optional<std::string_view> cookieIn(std::string_view field, std::string_view name) {
  while (!field.empty()) {
    const std::size_t end = field.find(';');
    const std::string_view pair = trim(field.substr(0, end));
    field = end == std::string_view::npos ? std::string_view() : field.substr(end + 1);
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim(pair.substr(0, eq)) == name) {
      std::string_view value = trim(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return value;
    }
  }
  return std::nullopt;
}

std::optional<std::string_view> queryParam(std::string_view target, std::string_view name) {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(q + 1);
  if (const std::size_t hash = query.find('#'); hash != std::string_view::npos) {
    query = query.substr(0, hash);
  }
  while (!query.empty()) {
    const std::size_t end = query.find('&');
    const std::string_view pair = query.substr(0, end);
    query = end == std::string_view::npos ? std::string_view() : query.substr(end + 1);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
  }
  return std::nullopt;
}

} // namespace

std::optional<std::string_view> hashKeyOf(const config::HashKey& key, const RequestView& request) {
  switch (key.source) {
  case config::HashKeySource::Ip:
    return request.client_ip;
  case config::HashKeySource::Path:
    return request.path;
  case config::HashKeySource::Query:
    return queryParam(request.target, key.name);
  case config::HashKeySource::Header:
  case config::HashKeySource::Cookie:
    break;
  }
  if (request.headers == nullptr) return std::nullopt;
  const bool cookie = key.source == config::HashKeySource::Cookie;
  for (const http::Header& header : *request.headers) {
    if (!http::equalsIgnoreCase(header.name, cookie ? "cookie" : key.name)) continue;
    if (!cookie) return trim(header.value);
    if (const auto value = cookieIn(header.value, key.name)) return value;
  }
  return std::nullopt;
}

} // namespace wsgate::balance
