// TLS contexts and TLS streams on a real loop over loopback TCP: certificates made in memory
// with OpenSSL, a server TlsStream and a client TlsStream talking to each other, and every test
// ending with all handles closed and uv_loop_close() == 0.
#include "proxy/transport/tcp_stream.h"
#include "proxy/transport/tls_context.h"
#include "proxy/transport/tls_stream.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <gtest/gtest.h>
#include <malloc.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string>

#ifdef WSGATE_SANITIZED
#include <sanitizer/allocator_interface.h>
#endif

namespace wsgate::proxy {
namespace {

namespace fs = std::filesystem;

struct KeyAndCert {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  std::string key_path;
  std::string cert_path;
};

void addExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(ext, nullptr);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A test PKI in a temporary directory: CAs and leaf certificates written as PEM files.
class Pki {
public:
  Pki() {
    std::string pattern = (fs::temp_directory_path() / "wsgate-tls-unit-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
  }
  ~Pki() {
    for (KeyAndCert& item : items_) {
      EVP_PKEY_free(item.key);
      X509_free(item.cert);
    }
    fs::remove_all(dir_);
  }
  Pki(const Pki&) = delete;
  Pki& operator=(const Pki&) = delete;

  // A self-signed CA (issuer == nullptr) or a leaf signed by `issuer` with `san`.
  const KeyAndCert& make(const std::string& name, const KeyAndCert* issuer,
                         const std::string& san = "") {
    KeyAndCert item;
    item.key = EVP_EC_gen("P-256");
    item.cert = X509_new();
    X509_set_version(item.cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(item.cert), static_cast<long>(items_.size() + 1));
    X509_gmtime_adj(X509_getm_notBefore(item.cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(item.cert), 3600);
    X509_set_pubkey(item.cert, item.key);
    X509_NAME* subject = X509_get_subject_name(item.cert);
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
    X509* signer = issuer != nullptr ? issuer->cert : item.cert;
    X509_set_issuer_name(item.cert, X509_get_subject_name(signer));
    if (issuer == nullptr) {
      addExtension(item.cert, signer, NID_basic_constraints, "critical,CA:TRUE");
      addExtension(item.cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
      addExtension(item.cert, signer, NID_basic_constraints, "CA:FALSE");
      addExtension(item.cert, signer, NID_subject_alt_name, san.c_str());
    }
    X509_sign(item.cert, issuer != nullptr ? issuer->key : item.key, EVP_sha256());
    item.cert_path = dir_ + "/" + name + ".crt";
    item.key_path = dir_ + "/" + name + ".key";
    std::FILE* out = std::fopen(item.cert_path.c_str(), "w");
    PEM_write_X509(out, item.cert);
    std::fclose(out);
    out = std::fopen(item.key_path.c_str(), "w");
    PEM_write_PrivateKey(out, item.key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(out);
    items_.push_back(item);
    return items_.back();
  }
  const std::string& dir() const { return dir_; }

private:
  std::string dir_;
  std::deque<KeyAndCert> items_; // a deque: references to items stay valid
};

config::Config configWith(const KeyAndCert& server, const KeyAndCert* alt, const std::string& ca) {
  config::Config config;
  config::Listener listener;
  listener.name = "public";
  listener.tls = config::Tls{server.cert_path, server.key_path, config::TlsVersion::Tls12, {}};
  if (alt != nullptr) {
    listener.tls->sni.push_back({"*.alt.test", alt->cert_path, alt->key_path});
  }
  config.listeners.push_back(std::move(listener));
  config::Pool pool;
  pool.name = "backends";
  pool.backends.push_back({true, {"localhost", 443}, "wss://localhost"});
  pool.ca_file = ca;
  config.pools.push_back(std::move(pool));
  return config;
}

class TlsContextTest : public ::testing::Test {
protected:
  Pki pki_;
  const KeyAndCert& ca_ = pki_.make("ca", nullptr);
  const KeyAndCert& server_ = pki_.make("localhost", &ca_, "DNS:localhost,IP:127.0.0.1");
  const KeyAndCert& alt_ = pki_.make("alt", &ca_, "DNS:*.alt.test");
};

TEST_F(TlsContextTest, BuildsListenerAndPoolContexts) {
  std::string error;
  const auto contexts = buildTlsContexts(configWith(server_, &alt_, ca_.cert_path), nullptr, error);
  ASSERT_NE(contexts, nullptr) << error;
  const auto server = contexts->listener(0);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->minVersionName(), "TLS 1.2");
  EXPECT_EQ(contexts->listener(1), nullptr);
  ASSERT_NE(contexts->pool("backends"), nullptr);
  EXPECT_EQ(contexts->pool("backends")->trustName(), ca_.cert_path);
  EXPECT_EQ(contexts->pool("other"), nullptr);
}

TEST_F(TlsContextTest, SniNamesAndWildcards) {
  std::string error;
  const auto contexts = buildTlsContexts(configWith(server_, &alt_, ""), nullptr, error);
  ASSERT_NE(contexts, nullptr) << error;
  const auto server = contexts->listener(0);
  EXPECT_NE(server->contextFor("a.alt.test"), nullptr);
  EXPECT_NE(server->contextFor("b.a.alt.test"), nullptr);
  EXPECT_EQ(server->contextFor("alt.test"), nullptr);
  EXPECT_EQ(server->contextFor("localhost"), nullptr); // the default certificate's name
  EXPECT_TRUE(server->knows("localhost"));
  EXPECT_TRUE(server->knows("x.alt.test"));
  EXPECT_FALSE(server->knows("nope.test"));
  EXPECT_EQ(contexts->pool("backends")->trustName(), "the system store");
}

TEST_F(TlsContextTest, FailuresNameTheSettingAndTheFile) {
  std::string error;
  config::Config missing = configWith(server_, nullptr, "");
  missing.listeners[0].tls->cert = pki_.dir() + "/missing.crt";
  EXPECT_EQ(buildTlsContexts(missing, nullptr, error), nullptr);
  EXPECT_NE(error.find("listeners[0].tls.cert: cannot read '"), std::string::npos) << error;
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;

  config::Config mismatch = configWith(server_, nullptr, "");
  mismatch.listeners[0].tls->key = alt_.key_path;
  EXPECT_EQ(buildTlsContexts(mismatch, nullptr, error), nullptr);
  EXPECT_NE(error.find("listeners[0].tls.key: the key in"), std::string::npos) << error;

  config::Config sni = configWith(server_, &alt_, "");
  sni.listeners[0].tls->sni[0].cert = ca_.key_path; // a key is no certificate
  EXPECT_EQ(buildTlsContexts(sni, nullptr, error), nullptr);
  EXPECT_NE(error.find("listeners[0].tls.sni[0].cert: cannot load"), std::string::npos) << error;

  config::Config ca = configWith(server_, nullptr, pki_.dir() + "/none.pem");
  EXPECT_EQ(buildTlsContexts(ca, nullptr, error), nullptr);
  EXPECT_NE(error.find("pools[0].ca_file: cannot read"), std::string::npos) << error;
}

// ---------------------------------------------------------------- streams on a loop

// Records what a stream reports and runs a hook on each event.
struct Peer final : StreamEvents {
  std::unique_ptr<Stream> stream;
  std::string received;
  int connect_status = 1; // not reported yet
  int end_status = 1;
  bool closed = false;
  std::function<void(Peer&)> on_connect;
  std::function<void(Peer&)> on_data;
  std::function<void(Peer&)> on_end;
  std::function<void(Peer&)> on_closed;

  void onStreamConnect(Stream&, int status) override {
    connect_status = status;
    if (on_connect) on_connect(*this);
  }
  void onStreamData(Stream&, Block* block, std::size_t length) override {
    received.append(reinterpret_cast<const char*>(block->data.data()), length);
    if (on_data) on_data(*this);
  }
  void onStreamEnd(Stream&, int status) override {
    end_status = status;
    if (on_end) on_end(*this);
  }
  void onStreamDrained(Stream&) override {}
  void onStreamClosed(Stream&) override {
    closed = true;
    if (on_closed) on_closed(*this);
  }
};

// Heap bytes in use now, from the allocator that serves this build (ASan replaces glibc's).
std::size_t heapInUse() {
#ifdef WSGATE_SANITIZED
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
#endif
}

class TlsStreamTest : public TlsContextTest {
protected:
  void SetUp() override {
    std::signal(SIGPIPE,
                SIG_IGN); // as wsgate does: a peer that left is an error code, not a signal
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    uv_tcp_init(&loop_, &listener_);
    listener_.data = this;
    sockaddr_in address{};
    uv_ip4_addr("127.0.0.1", 0, &address);
    ASSERT_EQ(uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&address), 0), 0);
    ASSERT_EQ(uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 16, &TlsStreamTest::onAccept),
              0);
    int length = sizeof address_;
    uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&address_), &length);
  }

  void TearDown() override {
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&listener_))) {
      uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    }
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
    EXPECT_EQ(pool_.inUse(), 0u);
  }

  static void onAccept(uv_stream_t* server, int status) {
    auto* self = static_cast<TlsStreamTest*>(server->data);
    ASSERT_EQ(status, 0);
    Peer& peer = self->server_peer_;
    if (self->plain_server_) {
      peer.stream = std::make_unique<TcpStream>(&self->loop_, self->pool_, peer);
    } else {
      peer.stream =
          TlsStream::server(&self->loop_, self->pool_, peer, self->contexts_->listener(0), "test");
    }
    ASSERT_EQ(peer.stream->tcp().accept(AcceptedSocket{server, -1}), 0);
    if (self->on_server_accept_) self->on_server_accept_(peer);
    peer.stream->startRead();
    uv_close(reinterpret_cast<uv_handle_t*>(&self->listener_), nullptr);
  }

  void build(const std::string& ca_file) {
    std::string error;
    contexts_ = buildTlsContexts(configWith(server_, &alt_, ca_file), nullptr, error);
    ASSERT_NE(contexts_, nullptr) << error;
  }

  void connectClient(const std::string& host) {
    std::string error;
    config::Backend backend{true, {host, ntohs(address_.sin_port)}, "wss://" + host};
    client_peer_.stream = TlsStream::client(&loop_, pool_, client_peer_,
                                            contexts_->pool("backends"), backend, "pool", error);
    ASSERT_NE(client_peer_.stream, nullptr) << error;
    ASSERT_EQ(client_peer_.stream->tcp().connect(reinterpret_cast<const sockaddr*>(&address_)), 0);
  }

  uv_loop_t loop_{};
  uv_tcp_t listener_{};
  sockaddr_in address_{};
  BufferPool pool_{0}; // keeps no free block: the heap shows only the blocks someone holds
  std::shared_ptr<const TlsContexts> contexts_;
  Peer server_peer_;
  Peer client_peer_;
  bool plain_server_ = false;
  std::function<void(Peer&)> on_server_accept_;
};

TEST_F(TlsStreamTest, EchoesThenClosesWithCloseNotify) {
  build(ca_.cert_path);
  // The server writes before its handshake completed: held, then sent after it.
  on_server_accept_ = [](Peer& peer) {
    peer.stream->writeCopy(std::string_view("early;"));
    EXPECT_EQ(peer.stream->queuedBytes(), 6u);
  };
  server_peer_.on_data = [](Peer& peer) {
    peer.stream->writeCopy(std::string_view(peer.received));
    peer.received.clear();
  };
  server_peer_.on_end = [](Peer& peer) { peer.stream->close(); };
  const std::string big(200000, 'x');
  client_peer_.on_connect = [&](Peer& peer) {
    ASSERT_EQ(peer.connect_status, 0) << peer.stream->lastError();
    peer.stream->startRead();
    peer.stream->writeCopy(std::string_view(big));
  };
  client_peer_.on_data = [&](Peer& peer) {
    if (peer.received.size() == 6 + big.size()) peer.stream->shutdownWrite();
  };
  client_peer_.on_end = [](Peer& peer) { peer.stream->close(); };
  connectClient("localhost");
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(client_peer_.received, "early;" + big);
  EXPECT_EQ(server_peer_.end_status, UV_EOF); // the client's close_notify
  EXPECT_EQ(client_peer_.end_status, UV_EOF);
  EXPECT_TRUE(server_peer_.closed);
  EXPECT_TRUE(client_peer_.closed);
  EXPECT_EQ(client_peer_.stream->bytesWritten(), big.size());
}

TEST_F(TlsStreamTest, PlaintextHeldWhileNotReadingIsDeliveredOnStartRead) {
  build(ca_.cert_path);
  // Large enough that records straddle the TCP reads: a full plaintext block then leaves
  // ciphertext unread in the stream's input, and the next TCP read can arrive before the
  // resume delivers it (it is carried over). A pattern, so that misordered bytes show.
  std::string message(std::size_t{1} << 20, 'm');
  for (std::size_t i = 0; i < message.size(); ++i)
    message[i] = static_cast<char>(i % 251);
  server_peer_.on_data = [&](Peer& peer) {
    // Stop after the first block; the rest stays buffered in TLS until reading resumes.
    peer.stream->stopRead();
    if (peer.received.size() < message.size()) {
      auto* idle = new uv_idle_t;
      uv_idle_init(&loop_, idle);
      idle->data = &peer;
      uv_idle_start(idle, [](uv_idle_t* handle) {
        static_cast<Peer*>(handle->data)->stream->startRead();
        uv_close(reinterpret_cast<uv_handle_t*>(handle),
                 [](uv_handle_t* h) { delete reinterpret_cast<uv_idle_t*>(h); });
      });
    } else {
      peer.stream->close();
    }
  };
  client_peer_.on_connect = [&](Peer& peer) {
    ASSERT_EQ(peer.connect_status, 0) << peer.stream->lastError();
    peer.stream->writeCopy(std::string_view(message));
    peer.stream->startRead();
  };
  client_peer_.on_end = [](Peer& peer) { peer.stream->close(); };
  connectClient("127.0.0.1");
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(server_peer_.received, message);
  EXPECT_TRUE(client_peer_.closed);
}

// Bulk traffic both ways, then both streams idle: the heap is back where it was before the
// traffic. A stream keeps no ciphertext buffer between events (a memory BIO would keep its
// largest buffer, 64 KiB and more per direction, for the life of the connection).
TEST_F(TlsStreamTest, IdleStreamsHoldNoBufferAfterBulkTraffic) {
  build(ca_.cert_path);
  constexpr std::size_t kBulk = std::size_t{4} << 20;
  const std::string bulk(kBulk, 'b');
  // Each peer counts what it received and stops reading at its target: with nothing reading
  // and every write complete, uv_run returns and the streams are idle.
  struct Count {
    std::size_t target = 5;
    std::size_t got = 0;
  } server_count, client_count;
  const auto counter = [](Count& count) {
    return [&count](Peer& peer) {
      count.got += peer.received.size();
      std::string().swap(peer.received); // frees it: the heap is measured
      if (count.got >= count.target) peer.stream->stopRead();
    };
  };
  server_peer_.on_data = counter(server_count);
  client_peer_.on_data = counter(client_count);
  on_server_accept_ = [](Peer& peer) { peer.stream->writeCopy(std::string_view("hello")); };
  client_peer_.on_connect = [](Peer& peer) {
    ASSERT_EQ(peer.connect_status, 0) << peer.stream->lastError();
    peer.stream->writeCopy(std::string_view("hello"));
    peer.stream->startRead();
  };
  connectClient("localhost");
  uv_run(&loop_, UV_RUN_DEFAULT);
  ASSERT_EQ(server_count.got, 5u);
  ASSERT_EQ(client_count.got, 5u);
  const std::size_t before = heapInUse();

  server_count.target = client_count.target = 5 + kBulk;
  for (Peer* peer : {&server_peer_, &client_peer_}) {
    ASSERT_EQ(peer->stream->writeCopy(std::string_view(bulk)), 0);
    ASSERT_EQ(peer->stream->startRead(), 0);
  }
  uv_run(&loop_, UV_RUN_DEFAULT);
  ASSERT_EQ(server_count.got, 5 + kBulk);
  ASSERT_EQ(client_count.got, 5 + kBulk);
  const std::size_t after = heapInUse();
  EXPECT_EQ(pool_.inUse(), 0u);
  EXPECT_EQ(static_cast<TlsStream&>(*server_peer_.stream).heldBytes(), 0u);
  EXPECT_EQ(static_cast<TlsStream&>(*client_peer_.stream).heldBytes(), 0u);
  // Some slack for the allocator's own bookkeeping; one memory BIO alone would exceed it.
  EXPECT_LT(after, before + 16 * 1024) << "the heap grew by " << after - before << " bytes";
  server_peer_.stream->close();
  client_peer_.stream->close();
}

TEST_F(TlsStreamTest, UntrustedServerFailsTheClientConnect) {
  const KeyAndCert& other = pki_.make("other-ca", nullptr);
  build(other.cert_path);
  server_peer_.on_end = [](Peer& peer) { peer.stream->close(); };
  client_peer_.on_connect = [](Peer& peer) { peer.stream->close(); };
  connectClient("localhost");
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(client_peer_.connect_status, UV_EPROTO);
  EXPECT_NE(client_peer_.stream->lastError().find("certificate failed verification"),
            std::string::npos)
      << client_peer_.stream->lastError();
  EXPECT_EQ(server_peer_.end_status, UV_EPROTO); // the client's alert
  EXPECT_NE(server_peer_.stream->lastError().find("rejected the handshake with alert"),
            std::string::npos)
      << server_peer_.stream->lastError();
}

TEST_F(TlsStreamTest, SniSelectsTheWildcardCertificate) {
  build(ca_.cert_path);
  server_peer_.on_end = [](Peer& peer) { peer.stream->close(); };
  client_peer_.on_connect = [](Peer& peer) { peer.stream->close(); };
  connectClient("www.alt.test"); // only the name is checked: the address is the listener's
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(client_peer_.connect_status, 0) << client_peer_.stream->lastError();
}

TEST_F(TlsStreamTest, AddressMismatchFailsVerification) {
  build(ca_.cert_path);
  server_peer_.on_end = [](Peer& peer) { peer.stream->close(); };
  client_peer_.on_connect = [](Peer& peer) { peer.stream->close(); };
  connectClient("127.0.0.2"); // the certificate names 127.0.0.1
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(client_peer_.connect_status, UV_EPROTO);
  EXPECT_NE(client_peer_.stream->lastError().find("IP address mismatch"), std::string::npos)
      << client_peer_.stream->lastError();
}

TEST_F(TlsStreamTest, PlainTextToATlsServerIsNamed) {
  build(ca_.cert_path);
  server_peer_.on_end = [](Peer& peer) { peer.stream->close(); };
  Peer& client = client_peer_;
  client.stream = std::make_unique<TcpStream>(&loop_, pool_, client);
  client.on_connect = [](Peer& peer) {
    peer.stream->writeCopy(std::string_view("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    peer.stream->startRead();
  };
  client.on_end = [](Peer& peer) { peer.stream->close(); };
  ASSERT_EQ(client.stream->tcp().connect(reinterpret_cast<const sockaddr*>(&address_)), 0);
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(server_peer_.end_status, UV_EPROTO);
  EXPECT_EQ(server_peer_.stream->lastError().rfind("plain HTTP sent to a TLS port", 0), 0u)
      << server_peer_.stream->lastError();
  EXPECT_TRUE(server_peer_.received.empty());
}

TEST_F(TlsStreamTest, BackendWithoutTlsIsNamed) {
  build(ca_.cert_path);
  plain_server_ = true;
  server_peer_.on_data = [](Peer& peer) {
    peer.stream->writeCopy(std::string_view("HTTP/1.1 400 Bad Request\r\n\r\n"));
    peer.stream->shutdownWrite();
  };
  server_peer_.on_end = [](Peer& peer) { peer.stream->close(); };
  client_peer_.on_connect = [](Peer& peer) { peer.stream->close(); };
  connectClient("localhost");
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(client_peer_.connect_status, UV_EPROTO);
  EXPECT_NE(client_peer_.stream->lastError().find("does not speak TLS"), std::string::npos)
      << client_peer_.stream->lastError();
}

} // namespace
} // namespace wsgate::proxy
