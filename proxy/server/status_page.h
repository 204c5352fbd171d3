#pragma once

#include <string_view>

namespace wsgate::proxy {

// The admin listener's "/": a live status page (listeners, routes, pools and backends, health,
// handshakes, closes and messages of the last minute) that reads /stats.json every second.
// One self-contained HTML document: inline CSS and JavaScript, no external assets.
std::string_view statusPageHtml();

} // namespace wsgate::proxy
