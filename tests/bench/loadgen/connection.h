#pragma once

#include "common/http/parser.h"
#include "common/ws/frame_parser.h"
#include "common/ws/frame_writer.h"
#include "tests/bench/loadgen/uv_handle.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <span>
#include <string>
#include <uv.h>
#include <vector>

namespace wsgate::bench {

// Why a connection cycle ended.
enum class Failure : uint8_t {
  None,      // clean: close handshake completed, then the server ended TCP
  Connect,   // the TCP connect failed
  Handshake, // the response was not a valid 101 upgrade
  Accept,    // a 101 whose Sec-WebSocket-Accept does not match the key
  Protocol,  // a frame from the server broke RFC 6455
  Reset,     // the connection ended (EOF or error) outside a close handshake
  Write,     // a write failed
  Timeout,   // a step (connect, upgrade, close) took longer than its deadline
  Aborted,   // the benchmark ended it (its drain time was over)
  Tls,       // the TLS handshake failed, or a record from the server could not be read
};
inline constexpr std::size_t kFailureKinds = static_cast<std::size_t>(Failure::Tls) + 1;
const char* toString(Failure failure);

// What every connection of one loop shares.
struct Target {
  uv_loop_t* loop = nullptr;
  sockaddr_in address{};
  std::string host_header; // "127.0.0.1:8080"
  std::string path;        // the request target
  // Sec-WebSocket-Extensions of the request ("" = none); the 101 must accept it.
  std::string extensions;
  std::string headers;                   // extra header lines of every upgrade request
  std::vector<std::string> header_cycle; // one of these per upgrade, in turn
  std::size_t next_header = 0;
  // Where reads land. One per loop: a read is processed completely inside its callback.
  std::vector<uint8_t> read_buffer = std::vector<uint8_t>(std::size_t{64} * 1024);

  // wss: the client context (nullptr for ws://). The certificate is not verified: the
  // generator measures the server's side of the handshake, on the loopback.
  SSL_CTX* tls = nullptr;
  std::string tls_server_name; // SNI
  bool tls_resume = false;     // offer the session of an earlier connection (a ticket)
  SSL_SESSION* tls_session = nullptr;
  // What the handshakes negotiated: "TLSv1.3 TLS_AES_256_GCM_SHA384 X25519" of the first one,
  // and how many completed and were resumed.
  std::string tls_negotiated;
  uint64_t tls_handshakes = 0;
  uint64_t tls_resumed = 0;
  // Plaintext out of SSL_read, and ciphertext out of the write BIO (both used and emptied
  // within one call).
  std::vector<uint8_t> plain_buffer = std::vector<uint8_t>(std::size_t{64} * 1024);
  std::vector<uint8_t> cipher_buffer = std::vector<uint8_t>(std::size_t{64} * 1024);
};

class Connection;

// What a Connection reports to the benchmark that drives it. A callback may call send(),
// sendClose() or abort() on the connection.
class ConnectionEvents {
public:
  virtual ~ConnectionEvents() = default;
  // The 101 arrived and was checked.
  virtual void onOpen(Connection& connection) = 0;
  // A complete data message of `size` payload bytes.
  virtual void onMessage(Connection& connection, ws::Opcode opcode, uint64_t size) = 0;
  // Payload bytes of the current data message, `offset` bytes into it.
  virtual void onPayload(Connection& connection, std::span<const uint8_t> bytes, uint64_t offset) {
    (void)connection;
    (void)bytes;
    (void)offset;
  }
  // The bytes of one read have been processed: the time to send what they call for.
  virtual void onReadDone(Connection& connection) { (void)connection; }
  // The handle is closed; the connection is Idle and may be started again.
  virtual void onClosed(Connection& connection, Failure failure) = 0;
};

// One client WebSocket connection of the load generator: TCP connect, TLS handshake (wss, over
// two memory BIOs), upgrade request, checked 101, frames from the server parsed (sizes and RFC 6455
// rules; UTF-8 is not validated), pings answered, close handshake. A connection runs in cycles:
// start() to onClosed(), then it may be started again with a fresh handle.
//
// Writes are tried at once (uv_try_write); what the socket refuses is queued with uv_write.
// Bytes passed to send() must outlive the write (the benchmarks send frames they own).
class Connection : private ws::FrameSink {
public:
  // Transitions happen in setState() only.
  enum class State : uint8_t {
    Idle,         // no handle: before start(), or after the close callback
    Connecting,   // TCP connect in progress
    TlsHandshake, // wss: the TLS handshake runs
    Upgrading,    // upgrade request sent; reading the response head
    Open,         // WebSocket open
    CloseSent,    // our close frame is out; frames are read until the server's close
    AwaitingEof,  // close frames exchanged; waiting for the server to end TCP (so TIME_WAIT
                  // stays on the server side and client ports are not exhausted)
    Closing,      // uv_close called; waiting for its callback (transient)
  };
  static const char* toString(State state);

  Connection(Target& target, ConnectionEvents& events, int index);
  // Only when Idle: queued writes refer to this object until the close callback.
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Begins a cycle: connect, then upgrade. Idle only.
  void start();
  // Sends `copies` back-to-back copies of the complete frame `frame`. Open only.
  void send(std::span<const uint8_t> frame, unsigned copies);
  // Sends a close frame (1000) and waits for the server's close, then for its FIN.
  void sendClose();
  // Ends the cycle now (uv_close) and reports `failure`. Does nothing unless a cycle runs.
  void abort(Failure failure);

  State state() const { return state_; }
  int index() const { return index_; }
  // uv_now() when the current state was entered, for deadlines.
  uint64_t stateSince() const { return state_since_; }
  // uv_hrtime() when the cycle started.
  uint64_t startedAt() const { return started_at_; }

private:
  struct WriteRequest {
    uv_write_t req{};
    Connection* owner = nullptr;
    ws::ControlFrame control;   // the bytes of a control frame we send; empty otherwise
    std::vector<uint8_t> bytes; // wss: ciphertext the socket did not take at once
  };

  static void onConnect(uv_connect_t* req, int status);
  static void onAlloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);
  static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void onWrite(uv_write_t* req, int status);
  static void onHandleClosed(void* owner);

  void setState(State next);
  void readBytes(std::span<const uint8_t> bytes);
  void readHead(std::span<const uint8_t> bytes);
  Failure checkResponse() const;
  void readFrames(std::span<const uint8_t> bytes);
  // Writes `count` buffers; `request` (may be null) owns the bytes when they are ours.
  // Over TLS the bytes are encrypted first (and need not outlive the call).
  void write(uv_buf_t* bufs, unsigned count, std::unique_ptr<WriteRequest> request);
  // Writes to the socket. `copy`: what the socket refuses is copied into the request.
  void writeRaw(uv_buf_t* bufs, unsigned count, std::unique_ptr<WriteRequest> request, bool copy);
  void sendRequest();
  bool setupTls();
  void tlsHandshake();
  void readTls();
  // Sends the ciphertext the write BIO holds.
  void flushTls();
  void freeTls();
  void sendControl(const ws::ControlFrame& frame);
  std::unique_ptr<WriteRequest> acquireRequest();

  // FrameSink.
  void onFrameHeader(const ws::FrameHeader& header) override;
  void onPayload(const ws::FrameHeader& header, std::span<const uint8_t> wire) override;
  void onFrameEnd(const ws::FrameHeader& header, std::span<const uint8_t> control_payload,
                  std::size_t end) override;

  Target& target_;
  ConnectionEvents& events_;
  const int index_;
  UvHandle<uv_tcp_t> tcp_;
  uv_connect_t connect_req_{};
  State state_ = State::Idle;
  Failure failure_ = Failure::None;
  uint64_t state_since_ = 0;
  uint64_t started_at_ = 0;
  std::string key_;
  std::string request_;                        // the upgrade request, alive until the cycle ends
  std::unique_ptr<http::ResponseParser> head_; // while Upgrading only
  ws::FrameParser parser_;
  ws::Opcode message_opcode_ = ws::Opcode::Continuation;
  uint64_t message_size_ = 0;
  uint64_t message_seen_ = 0; // payload bytes of the current message passed to onPayload
  SSL* ssl_ = nullptr;        // wss only; owns the two memory BIOs
  BIO* rbio_ = nullptr;       // ciphertext from the server
  BIO* wbio_ = nullptr;       // ciphertext for the server
  std::vector<std::unique_ptr<WriteRequest>> free_requests_;
  int writes_in_flight_ = 0;
};

} // namespace wsgate::bench
