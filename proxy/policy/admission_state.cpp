#include "proxy/policy/admission_state.h"

namespace wsgate::proxy::policy {

bool AdmissionState::admitIp(const std::string& ip, uint64_t limit) {
  std::lock_guard lock(ip_mutex_);
  uint64_t& count = per_ip_[ip];
  if (limit != 0 && count >= limit) {
    if (count == 0) per_ip_.erase(ip);
    return false;
  }
  ++count;
  return true;
}

void AdmissionState::releaseIp(const std::string& ip) {
  std::lock_guard lock(ip_mutex_);
  const auto it = per_ip_.find(ip);
  if (it == per_ip_.end()) return;
  if (--it->second == 0) per_ip_.erase(it);
}

} // namespace wsgate::proxy::policy
