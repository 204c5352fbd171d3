#include "proxy/probe/conn.h"

#include "proxy/transport/tls_context.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace wsgate::probe {

namespace {

int millisUntil(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

std::string nameLine(X509_NAME* name) {
  if (name == nullptr) return "";
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return out;
}

std::string sanList(X509* cert) {
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return "";
  std::string out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    std::string item;
    if (name->type == GEN_DNS) {
      const ASN1_STRING* s = name->d.dNSName;
      item = "DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                  static_cast<std::size_t>(ASN1_STRING_length(s)));
    } else if (name->type == GEN_IPADD) {
      const ASN1_STRING* s = name->d.iPAddress;
      char text[INET6_ADDRSTRLEN] = {};
      const int family = ASN1_STRING_length(s) == 4 ? AF_INET : AF_INET6;
      inet_ntop(family, ASN1_STRING_get0_data(s), text, sizeof text);
      item = std::string("IP:") + text;
    } else {
      continue;
    }
    out += (out.empty() ? "" : ", ") + item;
  }
  GENERAL_NAMES_free(names);
  return out;
}

std::string timeLine(const ASN1_TIME* t) {
  BIO* bio = BIO_new(BIO_s_mem());
  ASN1_TIME_print(bio, t);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return out;
}

// Records the first verification failure of the chain in the SSL object's ex-data and lets
// the handshake go on, so that the probe can show the certificate it refuses.
int keepGoingVerify(int ok, X509_STORE_CTX* store) {
  if (ok == 0) {
    auto* ssl =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    auto* first = static_cast<long*>(SSL_get_app_data(ssl));
    if (first != nullptr && *first == 0) *first = X509_STORE_CTX_get_error(store);
  }
  return 1;
}

} // namespace

SSL_CTX* makeClientContext(const std::string& cacert, std::string& error) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) {
    error = "cannot create a TLS context: " + proxy::drainOpenSslErrors();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, &keepGoingVerify);
  // Offer HTTP/1.1 as browsers do for a WebSocket: a server that insists on h2 says so.
  static constexpr unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(ctx, kAlpn, sizeof kAlpn);
  const int loaded = cacert.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                                    : SSL_CTX_load_verify_file(ctx, cacert.c_str());
  if (loaded != 1) {
    error = (cacert.empty() ? std::string("cannot load the system CA store")
                            : "cannot load --cacert " + cacert) +
            ": " + proxy::drainOpenSslErrors();
    SSL_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

Conn::~Conn() {
  close();
}

void Conn::close() {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

bool Conn::waitFor(short events, Clock::time_point deadline) {
  pollfd p{fd_, events, 0};
  for (;;) {
    const int n = ::poll(&p, 1, millisUntil(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

bool Conn::connectTcp(const addrinfo& address, Clock::time_point deadline) {
  close();
  fd_ = ::socket(address.ai_family, address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                 address.ai_protocol);
  if (fd_ < 0) {
    errno_ = errno;
    error_ = std::string("socket(): ") + std::strerror(errno_);
    return false;
  }
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd_, address.ai_addr, address.ai_addrlen) == 0) return true;
  errno_ = errno;
  if (errno_ == EINPROGRESS) {
    if (!waitFor(POLLOUT, deadline)) {
      errno_ = ETIMEDOUT;
    } else {
      socklen_t len = sizeof errno_;
      ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &errno_, &len);
    }
  }
  if (errno_ == 0) return true;
  error_ = std::strerror(errno_);
  close();
  return false;
}

bool Conn::startTls(SSL_CTX* ctx, const std::string& sni, const std::string& verify_name,
                    bool insecure, Clock::time_point deadline, TlsInfo& info) {
  ssl_ = SSL_new(ctx);
  SSL_set_fd(ssl_, fd_);
  SSL_set_app_data(ssl_, &info.verify_code);
  if (!sni.empty()) SSL_set_tlsext_host_name(ssl_, sni.c_str());
  if (!insecure) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    in6_addr any{};
    const bool ip = inet_pton(AF_INET, verify_name.c_str(), &any) == 1 ||
                    inet_pton(AF_INET6, verify_name.c_str(), &any) == 1;
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, verify_name.c_str());
    } else {
      X509_VERIFY_PARAM_set1_host(param, verify_name.c_str(), 0);
    }
  }
  for (;;) {
    const int ret = SSL_connect(ssl_);
    if (ret == 1) break;
    bool retry = false;
    const IoStatus status = tlsStatus(ret, deadline, retry);
    if (retry) continue;
    if (status == IoStatus::Timeout) error_ = "timed out";
    if (status == IoStatus::Eof) error_ = "the server closed the connection during the handshake";
    SSL_set_app_data(ssl_, nullptr);
    return false;
  }
  SSL_set_app_data(ssl_, nullptr);
  info.version = SSL_get_version(ssl_);
  info.cipher = SSL_get_cipher_name(ssl_);
  const unsigned char* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(ssl_, &alpn, &alpn_len);
  info.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
  if (X509* cert = SSL_get1_peer_certificate(ssl_)) {
    info.subject = nameLine(X509_get_subject_name(cert));
    info.issuer = nameLine(X509_get_issuer_name(cert));
    info.sans = sanList(cert);
    info.not_after = timeLine(X509_get0_notAfter(cert));
    X509_free(cert);
  }
  if (!insecure && info.verify_code != 0) {
    info.verify_error = X509_verify_cert_error_string(info.verify_code);
  }
  return true;
}

// Maps an SSL_* call's result: `retry` after waiting for the socket, or the final status.
IoStatus Conn::tlsStatus(int ret, Clock::time_point deadline, bool& retry) {
  retry = false;
  const int err = SSL_get_error(ssl_, ret);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    if (!waitFor(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
      return IoStatus::Timeout;
    }
    retry = true;
    return IoStatus::Ok;
  }
  if (err == SSL_ERROR_ZERO_RETURN) return IoStatus::Eof;
  if (err == SSL_ERROR_SYSCALL) {
    errno_ = errno;
    const std::string queued = proxy::drainOpenSslErrors();
    if (errno_ == 0 && queued.empty()) return IoStatus::Eof;
    error_ = queued.empty() ? std::strerror(errno_) : queued;
    return errno_ == ECONNRESET ? IoStatus::Eof : IoStatus::Error;
  }
  error_ = proxy::drainOpenSslErrors();
  if (error_.find("unexpected eof") != std::string::npos) return IoStatus::Eof;
  return IoStatus::Error;
}

// One send or receive of at most `size` bytes, TLS or plain, waiting (until `deadline`) while
// the socket is not ready: Ok with `done` > 0, or why nothing was transferred.
IoStatus Conn::transferOnce(bool writing, uint8_t* bytes, std::size_t size,
                            Clock::time_point deadline, std::size_t& done) {
  for (;;) {
    if (ssl_ != nullptr) {
      const int ret = writing ? SSL_write(ssl_, bytes, static_cast<int>(size))
                              : SSL_read(ssl_, bytes, static_cast<int>(size));
      if (ret > 0) {
        done = static_cast<std::size_t>(ret);
        return IoStatus::Ok;
      }
      bool retry = false;
      const IoStatus status = tlsStatus(ret, deadline, retry);
      if (retry) continue;
      return status;
    }
    const long n = writing ? ::send(fd_, bytes, size, MSG_NOSIGNAL) : ::recv(fd_, bytes, size, 0);
    if (n > 0) {
      done = static_cast<std::size_t>(n);
      return IoStatus::Ok;
    }
    if (n == 0) return IoStatus::Eof; // recv only: send of a non-empty buffer is never 0
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      if (!waitFor(writing ? POLLOUT : POLLIN, deadline)) return IoStatus::Timeout;
      continue;
    }
    errno_ = errno;
    error_ = std::strerror(errno_);
    const bool gone = errno_ == ECONNRESET || (writing && errno_ == EPIPE);
    return gone ? IoStatus::Eof : IoStatus::Error;
  }
}

IoStatus Conn::writeAll(const void* data, std::size_t size, Clock::time_point deadline) {
  auto* bytes = const_cast<uint8_t*>(static_cast<const uint8_t*>(data)); // only read from
  while (size > 0) {
    std::size_t done = 0;
    if (const IoStatus status = transferOnce(true, bytes, size, deadline, done);
        status != IoStatus::Ok) {
      return status;
    }
    bytes += done;
    size -= done;
  }
  return IoStatus::Ok;
}

IoStatus Conn::readSome(std::vector<uint8_t>& out, Clock::time_point deadline) {
  uint8_t buf[16384];
  std::size_t done = 0;
  const IoStatus status = transferOnce(false, buf, sizeof buf, deadline, done);
  if (status == IoStatus::Ok) out.insert(out.end(), buf, buf + done);
  return status;
}

} // namespace wsgate::probe
