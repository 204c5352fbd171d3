#include "common/http/error_response.h"

#include <cstdint>

namespace wsgate::http {

namespace {

bool isSafeHeader(const Header& h) {
  if (!isToken(h.name)) return false;
  for (const char c : h.value) {
    if (!isFieldValueChar(static_cast<uint8_t>(c))) return false;
  }
  return true;
}

} // namespace

std::string_view statusReason(int status) {
  switch (status) {
  case 101:
    return "Switching Protocols";
  case 200:
    return "OK";
  case 204:
    return "No Content";
  case 301:
    return "Moved Permanently";
  case 302:
    return "Found";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 408:
    return "Request Timeout";
  case 413:
    return "Content Too Large";
  case 414:
    return "URI Too Long";
  case 426:
    return "Upgrade Required";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  case 505:
    return "HTTP Version Not Supported";
  default:
    return "Unknown";
  }
}

std::string buildErrorResponse(int status, std::string_view body, std::span<const Header> extra) {
  std::string out;
  out.reserve(128 + body.size());
  out.append("HTTP/1.1 ");
  out.append(std::to_string(status));
  out.push_back(' ');
  out.append(statusReason(status));
  out.append("\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ");
  out.append(std::to_string(body.size()));
  out.append("\r\nConnection: close\r\n");
  for (const Header& h : extra) {
    if (isSafeHeader(h)) appendHeader(out, h.name, h.value);
  }
  out.append("\r\n");
  out.append(body);
  return out;
}

} // namespace wsgate::http
