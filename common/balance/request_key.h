#pragma once

#include "common/config/values.h"
#include "common/http/headers.h"

#include <optional>
#include <string_view>

namespace wsgate::balance {

// What a request offers for consistent hashing.
struct RequestView {
  std::string_view client_ip; // without the port
  std::string_view target;    // origin-form: path and query ("/chat?room=7")
  std::string_view path;      // normalised path, no query
  const http::HeaderList* headers = nullptr;
};

// The value `key` names in the request: the client IP, a header's value (the first field of
// that name, trimmed), a cookie's value, a query parameter's raw value (not percent-decoded,
// the first occurrence), or the path. nullopt when the request does not carry it; the view
// points into `request`.
std::optional<std::string_view> hashKeyOf(const config::HashKey& key, const RequestView& request);

} // namespace wsgate::balance
