#include "common/config/cpu_limit.h"

#include <algorithm>
#include <charconv>

namespace wsgate::config {
namespace {

// A decimal number made of digits only, no sign, no spaces.
std::optional<uint64_t> parseDigits(std::string_view text) {
  uint64_t value = 0;
  if (text.empty()) return std::nullopt;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

} // namespace

uint32_t CpuMax::cpus() const {
  if (!limited || period_us == 0) return 0;
  const uint64_t whole = quota_us / period_us + (quota_us % period_us != 0 ? 1 : 0);
  return static_cast<uint32_t>(std::clamp<uint64_t>(whole, 1, UINT32_MAX));
}

double CpuMax::fraction() const {
  if (!limited || period_us == 0) return 0;
  return static_cast<double>(quota_us) / static_cast<double>(period_us);
}

std::optional<CpuMax> parseCpuMax(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  const std::size_t space = text.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const std::string_view quota = text.substr(0, space);
  const std::optional<uint64_t> period = parseDigits(text.substr(space + 1));
  if (!period || *period == 0) return std::nullopt;
  CpuMax out;
  out.period_us = *period;
  if (quota == "max") return out;
  const std::optional<uint64_t> value = parseDigits(quota);
  if (!value || *value == 0) return std::nullopt;
  out.limited = true;
  out.quota_us = *value;
  return out;
}

std::optional<std::string> parseCgroupV2Path(std::string_view text) {
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    if (!line.starts_with("0::")) continue;
    const std::string_view path = line.substr(3);
    if (path.empty() || path.front() != '/') return std::nullopt;
    // "/.." and "/a/../b": the cgroup is outside this namespace's view of the hierarchy.
    for (std::size_t at = 0; at != std::string_view::npos;) {
      const std::size_t next = path.find('/', at + 1);
      if (path.substr(at + 1, next == std::string_view::npos ? next : next - at - 1) == "..") {
        return std::nullopt;
      }
      at = next;
    }
    return std::string(path);
  }
  return std::nullopt;
}

std::optional<std::string> parentCgroup(std::string_view path) {
  while (path.size() > 1 && path.back() == '/')
    path.remove_suffix(1);
  if (path.size() <= 1) return std::nullopt;
  const std::size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return std::nullopt;
  return slash == 0 ? std::string("/") : std::string(path.substr(0, slash));
}

std::string_view toString(WorkersSource source) {
  switch (source) {
  case WorkersSource::Config:
    return "config";
  case WorkersSource::Affinity:
    return "affinity";
  case WorkersSource::CgroupCpuMax:
    return "cgroup cpu.max";
  case WorkersSource::Hardware:
    return "hardware";
  }
  return "?";
}

WorkerCount chooseWorkers(uint32_t configured, const CpuLimits& limits) {
  if (configured > 0) return {configured, WorkersSource::Config};
  const uint32_t quota = limits.quota ? limits.quota->cpus() : 0;
  if (limits.affinity_cpus > 0 && (quota == 0 || limits.affinity_cpus <= quota)) {
    return {limits.affinity_cpus, WorkersSource::Affinity};
  }
  if (quota > 0) return {quota, WorkersSource::CgroupCpuMax};
  return {std::max(1U, limits.hardware_cpus), WorkersSource::Hardware};
}

} // namespace wsgate::config
