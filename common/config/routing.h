#pragma once

#include "common/config/config.h"

#include <cstddef>
#include <string_view>

namespace wsgate::config {

// The route of `listener_index` for a request to `host` (the Host header, with or without a
// port) and `path` (the target without its query). The most specific host pattern wins (exact,
// then the longest "*.suffix", then "*"), then the longest path_prefix. nullptr: no route.
const Route* matchRoute(const Config& config, std::size_t listener_index, std::string_view host,
                        std::string_view path);

// True when `host` (lower-case, no port) matches a route host pattern.
bool hostMatches(std::string_view pattern, std::string_view host);

// True when `origin` is allowed by `policy.allowed_origins` (empty list: any origin). Exact
// patterns compare whole origins case-insensitively; "*.example.com" matches any origin whose
// host ends in ".example.com".
bool originAllowed(const Policy& policy, std::string_view origin);

// The Host header without its port, lower-cased: "Chat.Example.com:8080" -> "chat.example.com",
// "[::1]:8080" -> "[::1]".
std::string hostWithoutPort(std::string_view host);

} // namespace wsgate::config
