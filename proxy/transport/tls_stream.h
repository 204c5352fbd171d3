#pragma once

#include "common/config/values.h"
#include "proxy/transport/stream.h"
#include "proxy/transport/stream_factory.h"
#include "proxy/transport/tls_context.h"

#include <memory>
#include <string>
#include <uv.h>
#include <vector>

namespace wsgate::proxy {

// TLS over a TcpStream through two BIOs of our own, which hold no buffer of their own:
// - input: OpenSSL reads ciphertext straight from the pooled block the TCP stream read into.
//   What it has not read when the event returns (the owner stopped reading) stays in that
//   block, referenced; nothing is held once everything is read.
// - output: the records SSL_write makes go straight into a pooled block, handed to the TCP
//   stream (without a copy) when full and at the end of each operation (flushOutput).
// SSL_read turns the ciphertext into plaintext blocks for the owner. Everything runs on the
// worker's loop: nothing blocks, no thread, no busy loop (the TCP stream reads only while the
// handshake runs or the owner reads).
//
// The owner sees a Stream like TcpStream: a server stream reports data only after its
// handshake, and a client stream reports onStreamConnect only once its handshake is complete
// (status 0) or failed (UV_EPROTO, with lastError() saying why). Writes made before the
// handshake completes are held and sent after it; so is a shutdownWrite().
class TlsStream final : public Stream, private StreamEvents {
public:
  // Every transition happens in setState().
  enum class State : uint8_t {
    Connecting,  // client: the TCP connect is in progress
    Handshaking, // the TLS handshake runs; the TCP stream reads regardless of the owner
    Open,        // application data flows both ways
    Failed,      // the handshake or a record failed; the owner has been told (final)
  };
  static const char* toString(State state);

  // A stream for a connection accepted on the TLS listener `listener` (name, for logs).
  // `uring`: the worker's io_uring engine, which carries the TCP connection; null for epoll.
  static std::unique_ptr<TlsStream> server(uv_loop_t* loop, BufferPool& pool, StreamEvents& events,
                                           std::shared_ptr<const ServerTls> tls,
                                           std::string listener, UringEngine* uring = nullptr);
  // A stream to `backend` of pool `pool`: SNI is the backend's host name and the certificate
  // must be valid for it. nullptr with `error` set when OpenSSL cannot make the connection.
  static std::unique_ptr<TlsStream> client(uv_loop_t* loop, BufferPool& pool, StreamEvents& events,
                                           std::shared_ptr<const ClientTls> tls,
                                           const config::Backend& backend, std::string pool_name,
                                           std::string& error, UringEngine* uring = nullptr);
  ~TlsStream() override;
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  int startRead() override;
  void stopRead() override;
  int writeBlock(Block* block, const uv_buf_t* bufs, unsigned count) override;
  int writeCopy(std::span<const uint8_t> bytes) override;
  using Stream::writeCopy;
  // The TCP queue plus plaintext held until the handshake completes.
  std::size_t queuedBytes() const override { return tcp_->queuedBytes() + held_.size(); }
  void shutdownWrite() override;
  void close() override;
  std::string peerAddress() const override { return tcp_->peerAddress(); }
  SocketStream& tcp() override { return *tcp_; }
  std::string lastError() const override { return error_; }
  State state() const { return state_; }
  // Memory held for ciphertext between events (blocks and the carried-over input): 0 unless
  // the owner stopped reading with ciphertext still unread.
  std::size_t heldBytes() const;

private:
  enum class Role : uint8_t { Server, Client };
  // The first bytes a peer sent, to tell a plain-text peer from a broken TLS one.
  static constexpr std::size_t kFirstBytes = 48;

  TlsStream(uv_loop_t* loop, BufferPool& pool, StreamEvents& events, Role role, SSL* ssl,
            std::string label, UringEngine* uring);
  // Gives `ssl` an input and an output BIO (not yet bound to a stream); false when OpenSSL
  // cannot make them.
  static bool attachBios(SSL* ssl);
  // The BIOs' callbacks; the BIO's data is the stream.
  static int bioRead(BIO* bio, char* out, int size);
  static int bioWrite(BIO* bio, const char* in, int size);
  static long inputCtrl(BIO* bio, int cmd, long num, void* ptr);
  static long outputCtrl(BIO* bio, int cmd, long num, void* ptr);

  // From the TCP stream underneath.
  void onStreamConnect(Stream& stream, int status) override;
  void onStreamData(Stream& stream, Block* block, std::size_t length) override;
  void onStreamEnd(Stream& stream, int status) override;
  void onStreamDrained(Stream& stream) override;
  void onStreamClosed(Stream& stream) override;

  void setState(State state);
  // Reading (tls_stream_read.cpp).
  // Runs the handshake and delivers plaintext as far as the buffered ciphertext allows.
  void advance();
  void readPlaintext();
  void reportEnd(int status);
  int updateTcpRead();
  bool buffered() const;
  static void onResume(uv_idle_t* handle);
  // The handshake and how a failure is described (tls_stream_handshake.cpp).
  void handshake();
  void onHandshakeDone();
  void handshakeFailed(int ssl_error);
  void checkServerName();
  // Alerts the peer sent have reason codes from SSL_AD_REASON_OFFSET (1000) on.
  static bool isPeerAlert(int reason);
  std::string describeFailure(int ssl_error, unsigned long code) const;
  std::string describeRecordFailure(unsigned long code, const std::string& openssl) const;
  std::string describePlainText() const;
  void logFailure(std::string_view event, const std::string& openssl_errors) const;
  // Writing and closing (tls_stream.cpp).
  int encrypt(const uv_buf_t* bufs, unsigned count);
  void sendCloseNotify();
  static void onResumeClosed(uv_handle_t* handle);
  void handleClosed();
  // The BIOs' side (tls_stream_bio.cpp).
  void takeInput(Block* block, std::size_t length);
  std::size_t readCiphertext(uint8_t* out, std::size_t size);
  std::size_t inputBytes() const;
  void releaseInput();
  void appendOutput(const uint8_t* bytes, std::size_t size);
  void sendOutputBlock();
  int flushOutput();

  std::unique_ptr<SocketStream> tcp_; // never null
  uv_idle_t resume_{}; // runs once to deliver plaintext buffered while the owner did not read
  BufferPool& pool_;
  StreamEvents& events_;
  Role role_;
  State state_;
  SSL* ssl_;
  // Ciphertext from the peer not yet read by OpenSSL: first carry_[carry_read_, size()), then
  // input_block_->data[input_offset_, input_end_). Each part is released the moment OpenSSL
  // reads its last byte, so an idle stream holds neither. Bytes stay unread only when the
  // owner stopped reading (a record cut short is read into OpenSSL's own buffer). carry_ is
  // used only when a block arrives while the previous one still has unread bytes, in the one
  // loop iteration between startRead() and the resume: those bytes move into carry_, so at
  // most one block is held. carry_ does not grow from one such block to the next: the resume
  // delivers a whole plaintext block, which takes at least the ciphertext one TCP read brings.
  std::vector<uint8_t> carry_;
  std::size_t carry_read_ = 0;
  Block* input_block_ = nullptr; // referenced while it has unread bytes
  std::size_t input_offset_ = 0;
  std::size_t input_end_ = 0;
  // Ciphertext for the peer: output_block_->data[0, output_length_), handed to the TCP stream
  // when full and by flushOutput(), which every operation that runs OpenSSL ends with.
  Block* output_block_ = nullptr;
  std::size_t output_length_ = 0;
  int output_error_ = 0; // the first TCP write failure since the last flushOutput()
  std::shared_ptr<const ServerTls> server_tls_;
  std::shared_ptr<const ClientTls> client_tls_;
  std::string label_;         // the listener, or the pool and backend, for logs
  std::string backend_host_;  // client: the name the certificate must match
  std::vector<uint8_t> held_; // plaintext written before the handshake completed
  std::string error_;
  uint8_t first_bytes_[kFirstBytes] = {};
  std::size_t first_length_ = 0;
  int tcp_end_status_ = 0;    // how the TCP stream ended, once tcp_ended_
  int closes_pending_ = 0;    // handles still closing after close()
  uint64_t plaintext_in_ = 0; // application bytes received
  bool tcp_ended_ = false;    // the TCP stream reported its end
  bool end_reported_ = false;
  bool shutdown_wanted_ = false;
  bool close_notify_sent_ = false;
};

} // namespace wsgate::proxy
