#include "proxy/metrics/names.h"

namespace wsgate::proxy::metrics {

const char* rejectReason(int status) {
  switch (status) {
  case 400:
    return "bad_request";
  case 401:
    return "unauthorized";
  case 403:
    return "origin_not_allowed";
  case 404:
    return "no_route";
  case 405:
    return "method_not_allowed";
  case 408:
    return "handshake_timeout";
  case 414:
  case 431:
    return "headers_too_large";
  case 426:
    return "unsupported_version";
  case 429:
    return "per_ip_limit";
  case 502:
    return "backend_error";
  case 503:
    return "unavailable";
  case 504:
    return "backend_timeout";
  case 505:
    return "unsupported_http_version";
  default:
    return "other";
  }
}

std::string closeCodeLabel(uint16_t code) {
  if ((code >= 1000 && code <= 1015) || (code >= 4001 && code <= 4003)) {
    return std::to_string(code);
  }
  if (code >= 4000 && code <= 4999) return "4xxx";
  if (code >= 3000 && code <= 3999) return "3xxx";
  return "other";
}

std::string backendLabel(const config::Backend& backend) {
  return config::formatAddress(backend.address);
}

} // namespace wsgate::proxy::metrics
