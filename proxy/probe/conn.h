#pragma once

// The probe's connection: a non-blocking TCP socket, optionally wrapped in TLS, used through
// blocking calls with a deadline (poll()). One connection, one thread: a client tool needs no
// event loop.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <netdb.h>
#include <openssl/types.h>
#include <string>
#include <vector>

namespace wsgate::probe {

using Clock = std::chrono::steady_clock;

// What the TLS handshake negotiated and the certificate the server presented.
struct TlsInfo {
  std::string version; // "TLSv1.3"
  std::string cipher;
  std::string alpn;    // "" when none was negotiated
  std::string subject; // "CN=localhost"
  std::string sans;    // "DNS:localhost, IP Address:127.0.0.1"
  std::string issuer;
  std::string not_after; // "Dec  6 19:00:00 2026 GMT"
  // Verification: "" when the chain and the name verified (or --insecure skipped it).
  std::string verify_error; // X509_verify_cert_error_string()
  long verify_code = 0;
};

enum class IoStatus : uint8_t {
  Ok,
  Eof,     // the peer closed the connection (TCP FIN or TLS close_notify)
  Timeout, // the deadline passed
  Error,   // a socket or TLS error; see Conn::error()
};

class Conn {
public:
  Conn() = default;
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Connects to `address`. On failure returns false with a sentence in error().
  bool connectTcp(const addrinfo& address, Clock::time_point deadline);
  // Runs the TLS client handshake on the connected socket. `verify_name` is checked against
  // the certificate (a host name or an IP address) unless `insecure`. On a handshake failure
  // returns false with error(); a certificate that does not verify completes the handshake
  // (so its details can be shown) and returns true with info.verify_error set.
  bool startTls(SSL_CTX* ctx, const std::string& sni, const std::string& verify_name, bool insecure,
                Clock::time_point deadline, TlsInfo& info);

  IoStatus writeAll(const void* data, std::size_t size, Clock::time_point deadline);
  // Reads what is available (at least one byte) into `out`, appending.
  IoStatus readSome(std::vector<uint8_t>& out, Clock::time_point deadline);

  const std::string& error() const { return error_; }
  int lastErrno() const { return errno_; }
  void close();

private:
  bool waitFor(short events, Clock::time_point deadline);
  IoStatus tlsStatus(int ret, Clock::time_point deadline, bool& retry);
  IoStatus transferOnce(bool writing, uint8_t* bytes, std::size_t size, Clock::time_point deadline,
                        std::size_t& done);

  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string error_;
  int errno_ = 0;
};

// A client SSL_CTX for the probe: the system store or `cacert`, the verify callback that
// records failures instead of aborting. nullptr with `error` set when `cacert` does not load.
SSL_CTX* makeClientContext(const std::string& cacert, std::string& error);

} // namespace wsgate::probe
