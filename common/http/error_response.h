#pragma once

#include "common/http/headers.h"

#include <span>
#include <string>
#include <string_view>

namespace wsgate::http {

// The standard reason phrase of `status` ("Request Header Fields Too Large"), or "Unknown" for a
// status this table does not hold.
std::string_view statusReason(int status);

// A complete HTTP/1.1 response that answers a request wsgate refuses and then closes:
//
//   HTTP/1.1 <status> <reason>\r\n
//   Content-Type: text/plain; charset=utf-8\r\n
//   Content-Length: <body size>\r\n
//   Connection: close\r\n
//   <extra headers, in order>\r\n
//   \r\n
//   <body>
//
// An extra header whose name is not a token or whose value holds a CR, LF or other control
// character is left out, so no caller can split the response.
std::string buildErrorResponse(int status, std::string_view body,
                               std::span<const Header> extra = {});

} // namespace wsgate::http
