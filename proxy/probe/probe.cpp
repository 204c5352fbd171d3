#include "proxy/probe/probe.h"

#include "proxy/probe/explain.h"
#include "proxy/probe/steps.h"

#include <arpa/inet.h>
#include <cmath>
#include <csignal>
#include <iostream>
#include <memory>
#include <openssl/ssl.h>
#include <random>
#include <thread>

namespace wsgate::probe {

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

namespace {

struct AddrInfoDeleter {
  void operator()(addrinfo* list) const { freeaddrinfo(list); }
};
using AddrList = std::unique_ptr<addrinfo, AddrInfoDeleter>;

std::string addressText(const addrinfo& a) {
  char host[INET6_ADDRSTRLEN] = {};
  uint16_t port = 0;
  if (a.ai_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(a.ai_addr);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a.ai_addr);
  inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
  port = ntohs(in6->sin6_port);
  return "[" + std::string(host) + "]:" + std::to_string(port);
}

Verdict resolve(const Options& options, Report& report, AddrList& list) {
  const Clock::time_point start = Clock::now();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(options.url.port);
  const int rc = getaddrinfo(options.url.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    const std::string why = "cannot resolve '" + options.url.host + "': " + gai_strerror(rc) +
                            ": check the host name and the DNS configuration";
    report.step("resolve", false, msSince(start), why);
    return Verdict::fail(kExitConnection, why);
  }
  list.reset(found);
  std::vector<std::string> addresses;
  std::string text;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    addresses.push_back(addressText(*a));
    text += (text.empty() ? "" : ", ") + addresses.back();
  }
  report.step("resolve", true, msSince(start), options.url.host + " -> " + text,
              Json().strings("addresses", addresses));
  return {};
}

Verdict connect(const Options& options, Report& report, const addrinfo* list, Conn& conn) {
  std::string last;
  for (const addrinfo* a = list; a != nullptr; a = a->ai_next) {
    const Clock::time_point start = Clock::now();
    const std::string address = addressText(*a);
    if (conn.connectTcp(*a, start + options.timeout)) {
      report.step("connect", true, msSince(start), "TCP connected to " + address,
                  Json().str("address", address));
      return {};
    }
    last = explainConnectError(conn.lastErrno(), address);
    report.step("connect", false, msSince(start), last,
                Json().str("address", address).str("error", conn.error()));
  }
  return Verdict::fail(kExitConnection, "could not connect: " + last);
}

Verdict tls(const Options& options, Report& report, SSL_CTX* ctx, Conn& conn) {
  const Clock::time_point start = Clock::now();
  in6_addr any{};
  const std::string& host = options.url.host;
  const bool ip =
      inet_pton(AF_INET, host.c_str(), &any) == 1 || inet_pton(AF_INET6, host.c_str(), &any) == 1;
  const std::string sni = !options.sni.empty() ? options.sni : ip ? "" : host;
  const std::string verify_name = !options.sni.empty() ? options.sni : host;
  TlsInfo info;
  if (!conn.startTls(ctx, sni, verify_name, options.insecure, start + options.timeout, info)) {
    const std::string why = explainTlsError(conn.error());
    report.step("tls", false, msSince(start), why, Json().str("error", conn.error()));
    return Verdict::fail(kExitConnection, why);
  }
  Json fields;
  fields.str("version", info.version).str("cipher", info.cipher).str("alpn", info.alpn);
  fields.str("subject", info.subject).str("sans", info.sans).str("issuer", info.issuer);
  fields.str("not_after", info.not_after)
      .str("sni", sni)
      .boolean("verified", !options.insecure && info.verify_code == 0);
  const std::string details = "certificate: subject " + info.subject + "; SANs " +
                              (info.sans.empty() ? "none" : info.sans) + "; issuer " + info.issuer +
                              "; expires " + info.not_after;
  if (!info.verify_error.empty()) {
    const std::string why = explainVerify(info.verify_code, verify_name);
    fields.str("error", info.verify_error);
    report.step("tls", false, msSince(start), why, fields);
    report.detail(details);
    return Verdict::fail(kExitConnection, why);
  }
  report.step("tls", true, msSince(start),
              info.version + " " + info.cipher + ", ALPN " +
                  (info.alpn.empty() ? "none" : info.alpn) +
                  (options.insecure ? ", certificate NOT verified (--insecure)" : ", verified"),
              fields);
  report.detail(details);
  return {};
}

Verdict attempt(const Options& options, Report& report, SSL_CTX* ctx) {
  AddrList list;
  if (Verdict v = resolve(options, report, list); v.done) return v;
  Conn conn;
  if (Verdict v = connect(options, report, list.get(), conn); v.done) return v;
  if (options.url.tls) {
    if (Verdict v = tls(options, report, ctx, conn); v.done) return v;
  }
  Upgraded upgraded;
  if (Verdict v = upgrade(conn, options, report, upgraded); v.done) return v;
  return converse(conn, options, report, upgraded);
}

int usageError(const std::string& why) {
  std::cerr << "wsgate probe: " << why << "\n" << probeUsage();
  return kExitUsage;
}

} // namespace

int runProbe(int argc, const char* const* argv) {
  const ParsedArgs args = parseProbeArgs(argc, argv);
  if (args.help) {
    std::cout << probeUsage();
    return kExitHealthy;
  }
  if (!args.error.empty()) return usageError(args.error);
  const Options& options = args.options;
  // A TLS write to a peer that has gone must fail with EPIPE, not kill the probe.
  std::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(nullptr, &SSL_CTX_free);
  if (options.url.tls) {
    std::string error;
    ctx.reset(makeClientContext(options.cacert, error));
    if (ctx == nullptr) return usageError(error);
  }
  Report report(options, std::cout);
  std::mt19937_64 random(std::random_device{}());
  int code = kExitHealthy;
  for (int n = 0;; ++n) {
    report.beginAttempt(n + 1);
    const Verdict verdict = attempt(options, report, ctx.get());
    code = verdict.exit_code;
    report.endAttempt(code, verdict.diagnosis);
    if (code == kExitHealthy || n >= options.reconnect) break;
    // Full jitter (AWS architecture blog): a uniform wait in [0, min(cap, 1 s * 2^n)].
    const double cap =
        std::min(options.max_backoff.count() / 1000.0, std::ldexp(1.0, std::min(n, 30)));
    const double wait = std::uniform_real_distribution<double>(0.0, cap)(random);
    report.wait(n + 1, options.reconnect, wait, cap);
    std::this_thread::sleep_for(std::chrono::duration<double>(wait));
  }
  return report.finish(code);
}

} // namespace wsgate::probe
